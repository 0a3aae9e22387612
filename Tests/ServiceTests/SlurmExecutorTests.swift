import Foundation
import Glibc
import JobStore
@testable import Service
import XCTest
import TestSupport

/// The Slurm executor's plan: what it submits and cancels for given views of the queue and of `squeue`.
final class SlurmPlanTests: XCTestCase {
    private func demand(_ sweep: String?, queued: Int, running: Int = 0, cap: Int? = nil,
                        active: Bool = true) -> QueueDemand {
        QueueDemand(sweepID: sweep, isActive: active, queued: queued, running: running, maxConcurrency: cap)
    }

    func testAQueuedSweepGetsOneArrayOfATaskPerJobCappedByItsConcurrency() {
        XCTAssertEqual(SlurmPlan.actions(demand: [demand("swp_a", queued: 4, cap: 2)], tasks: []),
                       [.submit(sweepID: "swp_a", count: 4, concurrency: 2)])
    }

    func testLiveTasksCountAndFinishedOnesDoNot() throws {
        let tasks = try SlurmPlan.parseQueue("""
            7_0|unipelt-swp_a|RUNNING
            7_1|unipelt-swp_a|PENDING
            7_2|unipelt-swp_a|COMPLETING
            9|other-job|RUNNING
            """)
        XCTAssertEqual(tasks.count, 3, "other users' jobs are not ours")
        // 3 queued + 1 running = 4 tasks wanted; 2 live → 2 more.
        XCTAssertEqual(SlurmPlan.actions(demand: [demand("swp_a", queued: 3, running: 1)], tasks: tasks),
                       [.submit(sweepID: "swp_a", count: 2, concurrency: nil)])
        XCTAssertEqual(SlurmPlan.actions(demand: [demand("swp_a", queued: 1, running: 1)], tasks: tasks), [])
    }

    func testPendingTasksOfASweepWithNothingToClaimAreCancelled() {
        let tasks = [SlurmPlan.Task(id: "7_1", name: "unipelt-swp_a", state: .pending),
                     SlurmPlan.Task(id: "8_0", name: "unipelt-jobs", state: .pending)]
        XCTAssertEqual(SlurmPlan.actions(demand: [demand("swp_a", queued: 2, active: false), demand(nil, queued: 1)],
                                         tasks: tasks),
                       [.cancelPending(name: "unipelt-swp_a")])
    }
}

/// `executor = slurm` on a real one-node Slurm cluster on loopback (Debian's slurm-wlm, started by
/// `Tests/Scripts/slurm_cluster.sh`): a sweep runs through array tasks of `unipelt worker --once`, and an array
/// task cancelled mid-job hands its job back, which resumes from its checkpoint in another task.
final class SlurmExecutorTests: TinyWorldTestCase {
    private var cluster: String!

    private static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Scripts/slurm_cluster.sh").path

    override func setUpWithError() throws {
        try super.setUpWithError()
        cluster = world.root.appendingPathComponent("slurm").path
        let status = script("start")
        let log = (try? String(contentsOfFile: "\(cluster!).log", encoding: .utf8)) ?? ""
        if status == 77 { throw XCTSkip("Slurm is not installed and apt cannot reach its archive: \(log)") }
        XCTAssertEqual(status, 0, log)
    }

    override func tearDown() {
        if cluster != nil { _ = script("stop") }
        super.tearDown()
    }

    /// Runs the cluster script with its output in `<cluster>.log` and returns its exit status. Through
    /// `system`, which waits for exactly this child: `Process` was seen never to notice the script's exit
    /// once it had started the daemons.
    private func script(_ command: String) -> Int32 {
        let status = system("'\(Self.script)' \(command) '\(cluster!)' >> '\(cluster!).log' 2>&1")
        return status == -1 ? -1 : (status >> 8) & 0xFF
    }

    func testASweepRunsThroughArrayTasksAndACancelledTaskResumesFromItsCheckpoint() throws {
        let worker = "\(ServiceProcess.binary.path) worker --model-dir \(world.modelDirectory) --glue-dir \(world.glueDirectory)"
            + " --work-dir \(world.root.path)/slurm-work"
        let service = try ServiceProcess(world: world, extraEnvironment: [
            "SLURM_CONF": "\(cluster!)/slurm.conf", "UNIPELT_EXECUTOR": "slurm", "UNIPELT_SLURM_WORKER_COMMAND": worker,
            "UNIPELT_SLURM_RECONCILE_SECONDS": "1", "UNIPELT_CHECKPOINT_EVERY_SECONDS": "0",
        ])
        // 200 steps each with a periodic checkpoint every few steps: long enough to cancel a task mid-job.
        let body = #"{"name": "slurm", "tasks": ["rte"], "k": [16], "seeds": [1, 2], "methods": ["lora", "adapter"], "max_concurrency": 2, "hyperparameters": {"epochs": 100, "batch_size": 8, "max_seq_length": 32, "early_stopping_patience": 0, "eval_every_steps": 1000000, "checkpoint_every_seconds": 0.05}}"#
        let created = try service.json("/v1/sweeps", method: "POST", body: body)
        XCTAssertEqual(created.status, 201, "\(created.object)")
        let sweepID = try XCTUnwrap(created.object["id"] as? String)
        let jobs = (try service.json("/v1/jobs?sweep_id=\(sweepID)&limit=100").object["data"] as? [[String: Any]] ?? [])
            .compactMap { $0["id"] as? String }
        XCTAssertEqual(jobs.count, 4)

        // The first job with a periodic checkpoint: cancel its array task.
        let (victim, task) = try waitForCheckpointedSlurmJob(service, jobs)
        let running = try service.json("/v1/jobs/\(victim)").object
        XCTAssertTrue((running["worker"] as? String ?? "").hasSuffix(" slurm \(task)"), "\(running)")
        let cancelled = try runProgram("/usr/bin/env", ["SLURM_CONF=\(cluster!)/slurm.conf", "scancel", task])
        XCTAssertEqual(cancelled.status, 0, cancelled.errors)

        for id in jobs {
            let job = try service.waitForJob(id, timeout: 480)
            XCTAssertEqual(job["status"] as? String, "succeeded", "\(job)\n\(service.logText())")
            let events = try service.events(ofJob: id)
            XCTAssertTrue(events.contains { $0["type"] as? String == "slurm_submitted" }, "\(events)")
            XCTAssertTrue(events.filter { $0["type"] as? String == "claimed" }
                .allSatisfy { ($0["message"] as? String ?? "").contains(" slurm ") }, "claimed by array tasks: \(events)")
            let steps = (try service.json("/v1/jobs/\(id)/metrics?keys=train_loss&limit=10000").object["data"] as? [[String: Any]] ?? [])
                .compactMap { $0["step"] as? Int }
            XCTAssertEqual(steps, Array(1...200), "one row per step")
        }
        // Every array task that ran a job is reconciled with Slurm once it leaves the queue: its final state
        // is recorded on the job it ran (the cancelled one CANCELLED, the others COMPLETED with exit 0).
        let deadline = Date().addingTimeInterval(60)
        var ends: [String: [String]] = [:]
        repeat {
            ends = try Dictionary(uniqueKeysWithValues: jobs.map { id in
                (id, try service.events(ofJob: id).filter { $0["type"] as? String == "slurm_task_ended" }
                    .compactMap { $0["message"] as? String })
            })
            if ends.values.reduce(0, { $0 + $1.count }) == jobs.count + 1 { break }
            Thread.sleep(forTimeInterval: 0.2)
        } while Date() < deadline
        XCTAssertTrue(ends[victim]?.first?.hasPrefix("Slurm job \(task) of attempt 1 ended CANCELLED") == true, "\(ends)")
        for id in jobs {
            XCTAssertTrue(ends[id]?.last?.hasSuffix("ended COMPLETED (exit 0)") == true, "\(id): \(ends)")
        }
        let events = try service.events(ofJob: victim)
        let messages = events.compactMap { $0["message"] as? String }
        XCTAssertTrue(events.contains { $0["type"] as? String == "requeued" }, "handed back on SIGTERM: \(messages)")
        XCTAssertTrue(messages.contains { $0.contains("resumes from its last checkpoint") }, "\(messages)")
        let victimObject = try service.json("/v1/jobs/\(victim)").object
        XCTAssertEqual(victimObject["attempt"] as? Int, 2)
        // The finished job still names both array tasks it ran in, the cancelled one first.
        let slurmJobs = victimObject["slurm_jobs"] as? [String] ?? []
        XCTAssertEqual(slurmJobs.count, 2, "\(victimObject)")
        XCTAssertEqual(slurmJobs.first, task)
        print("slurm: task \(task) cancelled mid-job; job \(victim) events:\n"
              + events.filter { $0["type"] as? String != "checkpoint" }.compactMap { $0["message"] as? String }
              .joined(separator: "\n"))
        service.signal(SIGTERM)
        XCTAssertEqual(service.waitForExit(timeout: 60), 0)
    }

    /// A job running in an array task that has written a periodic checkpoint, and that task's id (`12_3`).
    private func waitForCheckpointedSlurmJob(_ service: ServiceProcess, _ jobs: [String]) throws -> (String, String) {
        let deadline = Date().addingTimeInterval(240)
        while Date() < deadline {
            for id in jobs {
                let events = try service.events(ofJob: id)
                guard events.contains(where: { $0["type"] as? String == "checkpoint" }),
                      try service.json("/v1/jobs/\(id)").object["status"] as? String == "running",
                      let claim = events.last(where: { $0["type"] as? String == "claimed" })?["message"] as? String,
                      let match = claim.range(of: #"slurm \d+_\d+"#, options: .regularExpression) else { continue }
                return (id, String(claim[match].dropFirst("slurm ".count)))
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTFail("no job ran in an array task; log:\n\(service.logText())")
        throw XCTSkip("precondition failed")
    }
}
