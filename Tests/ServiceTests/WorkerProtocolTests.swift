import Checksum
import Foundation
import Glibc
@testable import Service
import Training
import XCTest

/// Pull workers against the real server on loopback: the service (`executor = pull`) trains nothing itself;
/// `unipelt worker` processes, or curl playing one, claim its jobs and report under their leases.
final class WorkerProtocolTests: TinyWorldTestCase {
    private static let sweep = #"{"name": "pull", "tasks": ["rte"], "k": [16], "seeds": [1, 2], "methods": ["lora", "unipelt-apl"], "hyperparameters": {"epochs": 3, "batch_size": 8, "max_seq_length": 32}}"#
    /// 400 steps with a periodic checkpoint every few steps and one evaluation at the end (as in the
    /// end-to-end checkpoint tests): long enough to kill its worker mid-job.
    private static let longJob = #"{"task": "rte", "k": 16, "seed": 7, "method": "lora", "max_attempts": 10, "hyperparameters": {"epochs": 200, "batch_size": 8, "max_seq_length": 32, "early_stopping_patience": 0, "eval_every_steps": 1000000, "checkpoint_every_seconds": 0.05}}"#

    private func pullService() throws -> ServiceProcess {
        try ServiceProcess(world: world, extraEnvironment: ["UNIPELT_EXECUTOR": "pull", "UNIPELT_LEASE_SECONDS": "5",
                                                            "UNIPELT_CHECKPOINT_EVERY_SECONDS": "0"])
    }

    func testTwoWorkerProcessesShareASweepWithoutDuplicateRows() throws {
        let service = try pullService()
        let created = try service.json("/v1/sweeps", method: "POST", body: Self.sweep)
        XCTAssertEqual(created.status, 201, "\(created.object)")
        let sweepID = try XCTUnwrap(created.object["id"] as? String)
        // Neither worker has the model in its folder: each fetches it from the service once it has a job.
        let empty = world.root.appendingPathComponent("no-models").path
        // In each worker's fetch folder, a fetch whose worker died (nobody holds its lock) and a live one (this
        // test holds its lock): a new fetch removes the first and leaves the second.
        var liveFetches: [FileLock] = []
        for name in ["w0", "w1"] {
            let models = world.root.appendingPathComponent("work-\(name)/models").path
            for fetch in ["dead", "live"].map({ "\(models)/.tiny.\($0)-\(UUID().uuidString.lowercased().dropFirst(5))" }) {
                try FileManager.default.createDirectory(atPath: fetch + ".part", withIntermediateDirectories: true)
                XCTAssertTrue(FileManager.default.createFile(atPath: fetch + ".part/config.json", contents: Data("{".utf8)))
                if fetch.contains(".tiny.live-") { liveFetches.append(try FileLock(path: fetch + ".lock")) }
            }
        }
        let workers = try (0..<2).map {
            try WorkerProcess(world: world, service: service, name: "w\($0)", arguments: ["--model-dir", empty])
        }
        let jobs = try service.json("/v1/jobs?sweep_id=\(sweepID)&limit=100").object["data"] as? [[String: Any]] ?? []
        XCTAssertEqual(jobs.count, 4)
        var owners: Set<String> = []
        for job in jobs {
            let id = try XCTUnwrap(job["id"] as? String)
            let finished = try service.waitForJob(id)
            XCTAssertEqual(finished["status"] as? String, "succeeded", "\(finished)\n\(workers.map { $0.logText() })")
            XCTAssertEqual(finished["attempt"] as? Int, 1, "claimed once")
            let events = try service.events(ofJob: id)
            let claims = events.filter { $0["type"] as? String == "claimed" }
            XCTAssertEqual(claims.count, 1, "\(events)")
            owners.formUnion(claims.compactMap { $0["message"] as? String })
            XCTAssertEqual(events.filter { $0["type"] as? String == "succeeded" }.count, 1)
            // Every step once, from the one attempt: 2 steps per epoch × 3 epochs.
            let rows = try service.json("/v1/jobs/\(id)/metrics?keys=train_loss&limit=100").object["data"] as? [[String: Any]] ?? []
            XCTAssertEqual(rows.compactMap { $0["step"] as? Int }, [1, 2, 3, 4, 5, 6])
            // The best checkpoint was uploaded whole: it downloads with its recorded SHA-256.
            let best = try XCTUnwrap(finished["best_checkpoint_id"] as? String)
            let download = try service.curl([], path: "/v1/jobs/\(id)/checkpoints/\(best)/content")
            XCTAssertEqual(download.status, 200)
            XCTAssertTrue(download.headers.lowercased().contains("x-checksum-sha256: \(SHA256.hex(download.body))"))
        }
        XCTAssertEqual(try service.json("/v1/sweeps/\(sweepID)/results").status, 200)
        let fetched = (0..<2).map { world.root.appendingPathComponent("work-w\($0)/models/tiny/model.safetensors").path }
            .filter { FileManager.default.fileExists(atPath: $0) }
        XCTAssertFalse(fetched.isEmpty, "a worker fetched the model")
        for path in fetched {
            XCTAssertEqual(FileManager.default.contents(atPath: path),
                           FileManager.default.contents(atPath: "\(world.modelDirectory)/tiny/model.safetensors"))
            let models = ((path as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
            let left = try FileManager.default.contentsOfDirectory(atPath: models).filter { $0.hasPrefix(".tiny.") }
            XCTAssertEqual(left.map { $0.components(separatedBy: "-")[0] }.sorted(), [".tiny.live", ".tiny.live"], "\(left)")
        }
        liveFetches.removeAll()
        for worker in workers { worker.signal(SIGTERM) }
        for worker in workers { XCTAssertEqual(worker.waitForExit(timeout: 30), 0, worker.logText()) }
        // Which worker took which job is up to the race of their claims; both claimed through the API.
        XCTAssertTrue(owners.allSatisfy { $0.contains(" pid ") }, "\(owners)")
    }

    /// A worker that cannot prepare jobs (here its work dir cannot be made: a file stands in the way) does not
    /// lease the whole queue: it backs off after each job, stops after 3 in a row with exit status 2, and each
    /// such attempt is an `attempt_abandoned` event on its job, which goes back to the queue with its lease.
    func testAWorkerThatCannotPrepareJobsStopsAfterThreeInARow() throws {
        let service = try pullService()
        let created = try service.json("/v1/sweeps", method: "POST", body: #"{"name": "unprepared", "tasks": ["rte"], "k": [16], "seeds": [1, 2, 3, 4, 5], "methods": ["lora"], "hyperparameters": {"epochs": 1, "batch_size": 8, "max_seq_length": 32}}"#)
        let sweepID = try XCTUnwrap(created.object["id"] as? String, "\(created.object)")
        let blocker = world.root.appendingPathComponent("not-a-folder").path
        XCTAssertTrue(FileManager.default.createFile(atPath: blocker, contents: Data()))
        let worker = try WorkerProcess(world: world, service: service, name: "unprepared",
                                       arguments: ["--work-dir", blocker + "/work"])
        XCTAssertEqual(worker.waitForExit(timeout: 60), 2, worker.logText())
        XCTAssertTrue(worker.logText().contains("could not prepare 3 jobs in a row"), worker.logText())
        let jobs = try service.json("/v1/jobs?sweep_id=\(sweepID)&limit=100").object["data"] as? [[String: Any]] ?? []
        let abandoned = try jobs.compactMap { $0["id"] as? String }.flatMap { try service.events(ofJob: $0) }
            .filter { $0["type"] as? String == "attempt_abandoned" }
        XCTAssertEqual(abandoned.count, 3, "\(abandoned)")
        XCTAssertTrue(abandoned.allSatisfy { ($0["message"] as? String ?? "").contains("could not prepare its scratch folder") },
                      "\(abandoned)")
        XCTAssertTrue(jobs.allSatisfy { $0["status"] as? String != "failed" }, "no job is failed for the worker's fault")

        // A worker without the task's GLUE files (started in the wrong folder) fails no job either.
        let empty = world.root.appendingPathComponent("no-glue").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let withoutData = try WorkerProcess(world: world, service: service, name: "no-glue", arguments: ["--glue-dir", empty])
        XCTAssertEqual(withoutData.waitForExit(timeout: 60), 2, withoutData.logText())
        XCTAssertTrue(withoutData.logText().contains("could not prepare the GLUE data of rte: missing "), withoutData.logText())
        let after = try service.json("/v1/jobs?sweep_id=\(sweepID)&limit=100").object["data"] as? [[String: Any]] ?? []
        XCTAssertTrue(after.allSatisfy { $0["status"] as? String != "failed" }, "\(after)")
    }

    func testASIGKILLedWorkersJobIsRescuedAndResumesOnAnotherWorker() throws {
        let service = try pullService()
        let id = try XCTUnwrap(try service.json("/v1/jobs", method: "POST", body: Self.longJob).object["id"] as? String)
        let first = try WorkerProcess(world: world, service: service, name: "first")
        try waitForPeriodicCheckpoint(service, id)
        first.signal(SIGKILL)
        _ = first.waitForExit(timeout: 10)
        let second = try WorkerProcess(world: world, service: service, name: "second")
        let job = try service.waitForJob(id)
        XCTAssertEqual(job["status"] as? String, "succeeded", "\(job)\n\(second.logText())")
        XCTAssertEqual(job["attempt"] as? Int, 2)
        let events = try service.events(ofJob: id)
        XCTAssertTrue(events.contains { $0["type"] as? String == "rescued" }, "\(events)")
        XCTAssertTrue(events.contains { ($0["message"] as? String ?? "").contains("resumes from its last checkpoint") },
                      "\(events)")
        let steps = (try service.json("/v1/jobs/\(id)/metrics?keys=train_loss&limit=10000").object["data"] as? [[String: Any]] ?? [])
            .compactMap { $0["step"] as? Int }
        XCTAssertEqual(steps, Array(1...400), "one row per step, however often a step ran")
        second.signal(SIGTERM)
        XCTAssertEqual(second.waitForExit(timeout: 30), 0)
    }

    /// curl plays two workers: the first loses its lease to the rescuer, the second claims the job again;
    /// every late report of the first is refused with 409 and changes nothing.
    func testAFencedOutWorkersLateReportsAreRefusedAndChangeNothing() throws {
        let service = try pullService()
        let id = try XCTUnwrap(try service.json("/v1/jobs", method: "POST", body: Self.longJob).object["id"] as? String)
        let stale = try claim(service)
        XCTAssertEqual(stale.jobID, id)
        XCTAssertEqual(try report(service, stale, "metrics", #"{"step": 1, "wall_time": 1, "values": [{"name": "train_loss", "value": 9}], "gates": []}"#).status, 200)
        // No heartbeat: the rescuer (every lease/2) puts the job back once the 5 s lease ran out.
        let deadline = Date().addingTimeInterval(30)
        while try service.json("/v1/jobs/\(id)").object["status"] as? String != "queued", Date() < deadline {
            Thread.sleep(forTimeInterval: 0.2)
        }
        let current = try claim(service)
        XCTAssertEqual(current.attempt, 2)
        XCTAssertEqual(try report(service, current, "metrics", #"{"step": 1, "wall_time": 2, "values": [{"name": "train_loss", "value": 1}], "gates": []}"#).status, 200)
        let before = try snapshot(service, id)

        let late: [(String, String)] = [
            ("metrics", #"{"step": 1, "wall_time": 3, "values": [{"name": "train_loss", "value": 7}], "gates": []}"#),
            ("heartbeat", #"{"progress": {"step": 50}}"#), ("events", #"{"type": "note", "level": "info", "message": "late"}"#),
            ("finish", #"{"result": "{\"metric\": 1}"}"#), ("fail", #"{"code": "x", "message": "late"}"#),
            ("requeue", #"{"reason": "late"}"#), ("cancelled", "{}"), ("fresh", "{}"),
        ]
        for (action, body) in late {
            let refused = try report(service, stale, action, body)
            XCTAssertEqual(refused.status, 409, "\(action): \(refused.object)")
            XCTAssertEqual((refused.object["error"] as? [String: Any])?["code"] as? String, "lease_lost", action)
        }
        let file = world.root.appendingPathComponent("late.safetensors")
        try Data("a late checkpoint".utf8).write(to: file)
        let upload = try uploadCheckpoint(service, stale, file: file, sha256: SHA256.hex(Data("a late checkpoint".utf8)))
        XCTAssertEqual(upload.status, 409)
        XCTAssertEqual(try snapshot(service, id), before, "nothing changed")

        // The current holder still reports, and its reports answer the job's status.
        let reply = try report(service, current, "heartbeat", "{}")
        XCTAssertEqual(reply.object["status"] as? String, "running")
        XCTAssertEqual(try service.json("/v1/jobs/\(id)/cancel", method: "POST").status, 200)
        XCTAssertEqual(try report(service, current, "metrics", #"{"step": 2, "wall_time": 4, "values": [], "gates": []}"#).object["status"] as? String,
                       "cancelling", "a cancel is seen in the answer to the next report")
        XCTAssertEqual(try report(service, current, "cancelled", "{}").object["status"] as? String, "cancelled")
    }

    /// Restarting the service (an upgrade, `systemctl restart`) takes no job from a live pull worker: its lease
    /// is held elsewhere, so the new process leaves it to expire rather than rescuing it at start.
    func testAServiceRestartLeavesAPullWorkersJobToItsWorker() throws {
        var service = try pullService()
        let id = try XCTUnwrap(try service.json("/v1/jobs", method: "POST", body: Self.longJob).object["id"] as? String)
        let lease = try claim(service)
        service.signal(SIGTERM)
        XCTAssertEqual(service.waitForExit(timeout: 30), 0)
        service = try pullService()
        XCTAssertEqual(try report(service, lease, "heartbeat", "{}").object["status"] as? String, "running",
                       "the worker still holds its lease")
        let job = try service.json("/v1/jobs/\(id)").object
        XCTAssertEqual(job["attempt"] as? Int, 1)
        XCTAssertFalse(try service.events(ofJob: id).contains { $0["type"] as? String == "rescued" })
    }

    func testACorruptCheckpointUploadIsRefusedAndAWholeOneIsListed() throws {
        let service = try pullService()
        let id = try XCTUnwrap(try service.json("/v1/jobs", method: "POST", body: Self.longJob).object["id"] as? String)
        let lease = try claim(service)
        let content = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let file = world.root.appendingPathComponent("upload.safetensors")
        try content.write(to: file)
        var corrupt = content
        corrupt[500] ^= 0xFF
        let refused = try uploadCheckpoint(service, lease, file: file, sha256: SHA256.hex(corrupt))
        XCTAssertEqual(refused.status, 422, "\(refused.object)")
        XCTAssertEqual((refused.object["error"] as? [String: Any])?["code"] as? String, "checksum_mismatch")
        XCTAssertEqual(try checkpoints(service, id).count, 0)
        let folder = "\(world.dataDirectory)/checkpoints/\(id)"
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [], [], "no file left behind")

        let accepted = try uploadCheckpoint(service, lease, file: file, sha256: SHA256.hex(content))
        XCTAssertEqual(accepted.status, 200, "\(accepted.object)")
        let listed = try checkpoints(service, id)
        XCTAssertEqual(listed.compactMap { $0["name"] as? String }, ["last"])
        XCTAssertEqual(listed.first?["sha256"] as? String, SHA256.hex(content))
        let checkpointID = try XCTUnwrap(listed.first?["id"] as? String)
        XCTAssertEqual(try service.curl([], path: "/v1/jobs/\(id)/checkpoints/\(checkpointID)/content").body, content)
        // The folder's `last.safetensors` is the uploaded file, so an attempt in the service resumes from it too.
        XCTAssertEqual(FileManager.default.contents(atPath: "\(folder)/last.safetensors"), content)
        // The next claim of this job is told to resume from it.
        XCTAssertEqual(try report(service, lease, "requeue", #"{"reason": "test"}"#).object["status"] as? String, "queued")
        let next = try service.json("/v1/workers/claim", method: "POST", body: #"{"owner": "test"}"#).object
        let resume = (next["assignment"] as? [String: Any])?["resume"] as? [String: Any]
        XCTAssertEqual(resume?["id"] as? String, checkpointID)
    }

    /// A claim sent again under its id (its reply was lost on the way) gets the job that claim leased, with the
    /// same lease and attempt and no second `claimed` event; a claim under a new id gets the next job; a malformed id
    /// is refused naming the field.
    func testAClaimSentAgainGetsTheJobItLeased() throws {
        let service = try pullService()
        let ids = try (0..<2).map { _ in
            try XCTUnwrap(try service.json("/v1/jobs", method: "POST", body: Self.longJob).object["id"] as? String)
        }
        func claim(_ claimID: String, owner: String = "curl") throws -> [String: Any] {
            let reply = try service.json("/v1/workers/claim", method: "POST",
                                         body: #"{"owner": "\#(owner)", "claim_id": "\#(claimID)"}"#)
            XCTAssertEqual(reply.status, 200, "\(reply.object)")
            return try XCTUnwrap(reply.object["assignment"] as? [String: Any], "\(reply.object)")
        }
        let first = try claim("claim-a")
        let again = try claim("claim-a")
        XCTAssertEqual(again["job_id"] as? String, ids[0])
        XCTAssertEqual(again["job_id"] as? String, first["job_id"] as? String)
        XCTAssertEqual(again["lease_token"] as? String, first["lease_token"] as? String)
        XCTAssertEqual(again["attempt"] as? Int, 1)
        XCTAssertEqual(try service.events(ofJob: ids[0]).filter { $0["type"] as? String == "claimed" }.count, 1)
        // Another worker naming the same id claims for itself.
        XCTAssertEqual(try claim("claim-a", owner: "other")["job_id"] as? String, ids[1])
        let refused = try service.json("/v1/workers/claim", method: "POST", body: #"{"owner": "curl", "claim_id": ""}"#)
        XCTAssertEqual(refused.status, 400)
        XCTAssertEqual((refused.object["error"] as? [String: Any])?["param"] as? String, "claim_id")
    }

    // MARK: curl as a worker

    private struct CurlLease {
        let jobID: String
        let token: String
        let attempt: Int
        var headers: [String] { ["X-Lease-Token: \(token)", "X-Lease-Attempt: \(attempt)"] }
    }

    private func claim(_ service: ServiceProcess) throws -> CurlLease {
        let reply = try service.json("/v1/workers/claim", method: "POST", body: #"{"owner": "curl"}"#)
        XCTAssertEqual(reply.status, 200, "\(reply.object)")
        let assignment = try XCTUnwrap(reply.object["assignment"] as? [String: Any], "\(reply.object)")
        return CurlLease(jobID: try XCTUnwrap(assignment["job_id"] as? String),
                         token: try XCTUnwrap(assignment["lease_token"] as? String),
                         attempt: try XCTUnwrap(assignment["attempt"] as? Int))
    }

    private func report(_ service: ServiceProcess, _ lease: CurlLease, _ action: String,
                        _ body: String) throws -> (status: Int, object: [String: Any]) {
        try service.json("/v1/jobs/\(lease.jobID)/lease/\(action)", method: "POST", body: body, headers: lease.headers)
    }

    private func uploadCheckpoint(_ service: ServiceProcess, _ lease: CurlLease, file: URL,
                                  sha256: String) throws -> (status: Int, object: [String: Any]) {
        let headers = lease.headers + ["X-Checksum-SHA256: \(sha256)", "Content-Type: application/octet-stream"]
        let response = try service.curl(["-X", "PUT", "--data-binary", "@\(file.path)"] + headers.flatMap { ["-H", $0] },
                                        path: "/v1/jobs/\(lease.jobID)/lease/checkpoints/last?step=3")
        return (response.status, (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] ?? [:])
    }

    private func checkpoints(_ service: ServiceProcess, _ id: String) throws -> [[String: Any]] {
        try service.json("/v1/jobs/\(id)/checkpoints").object["data"] as? [[String: Any]] ?? []
    }

    /// What a late report could change: the job, its curve, events, checkpoints and files.
    private func snapshot(_ service: ServiceProcess, _ id: String) throws -> String {
        let job = try service.json("/v1/jobs/\(id)").object.filter { $0.key != "lease_expires_at" }
        let metrics = try service.json("/v1/jobs/\(id)/metrics?limit=100").object["data"] ?? []
        let events = try service.events(ofJob: id).compactMap { $0["id"] as? String }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: "\(world.dataDirectory)/checkpoints/\(id)")) ?? []
        let state: [String: Any] = ["job": job, "metrics": metrics, "events": events, "checkpoints": try checkpoints(service, id),
                                    "files": files.sorted()]
        return String(decoding: try JSONSerialization.data(withJSONObject: state, options: [.sortedKeys]), as: UTF8.self)
    }

    private func waitForPeriodicCheckpoint(_ service: ServiceProcess, _ id: String) throws {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if try service.events(ofJob: id).contains(where: { $0["type"] as? String == "checkpoint" }) { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTFail("no periodic checkpoint; log:\n\(service.logText())")
    }
}

/// The real `unipelt worker` binary in a child process, pulling from `service`.
final class WorkerProcess: ChildProcess {
    init(world: TinyWorld, service: ServiceProcess, name: String, arguments: [String] = []) throws {
        try super.init(world: world, logName: "worker-\(name).log",
                       arguments: ["worker", "--server", "http://127.0.0.1:\(service.port)", "--threads", "1",
                                   "--model-dir", world.modelDirectory, "--glue-dir", world.glueDirectory,
                                   "--work-dir", world.root.appendingPathComponent("work-\(name)").path] + arguments,
                       environment: ProcessInfo.processInfo.environment.filter {
                           !$0.key.hasPrefix("UNIPELT_") && !$0.key.hasPrefix("SLURM_")
                       })
    }
}
