import Foundation
import Glibc
import Tensor
import Training
import XCTest

/// Periodic checkpoints through the real binary: SIGKILL loses at most the training since the last one.
extension EndToEndTests {
    /// 200 epochs of 2 steps (long enough that three kills land before the end on a fast machine) with one
    /// evaluation at the end, so only periodic checkpoints write `last` while it
    /// runs; the job's 0.05 s interval (a few steps of the tiny model on any machine) wins over the service's 0.
    private static let periodicJob = #"{"task": "rte", "k": 16, "seed": 7, "method": "unipelt-apl", "max_attempts": 10, "hyperparameters": {"epochs": 200, "batch_size": 8, "max_seq_length": 32, "early_stopping_patience": 0, "eval_every_steps": 1000000, "checkpoint_every_seconds": 0.05}}"#

    private func periodicService() throws -> ServiceProcess {
        try ServiceProcess(world: world, extraEnvironment: ["UNIPELT_CHECKPOINT_EVERY_SECONDS": "0"])
    }

    func testSIGKILLAfterAPeriodicCheckpointResumesFromItAndMatchesAnUninterruptedRun() throws {
        var service = try periodicService()
        let id = try XCTUnwrap(try service.json("/v1/jobs", method: "POST", body: Self.periodicJob).object["id"] as? String)
        let written = try waitForPeriodicCheckpoint(service, id, after: 0)
        let metrics = String(decoding: try service.curl([], path: "/metrics").body, as: UTF8.self)
        XCTAssertTrue(metrics.contains(#"unipelt_checkpoints_written_total{reason="periodic"}"#), metrics)
        service.signal(SIGKILL)
        _ = service.waitForExit(timeout: 10)
        let killed = Date().timeIntervalSince1970
        let resumesAfter = try completeLastCheckpointStep(id)
        XCTAssertGreaterThanOrEqual(resumesAfter, written, "the checkpoint seen before the kill, or a later one")

        service = try periodicService()
        let freshID = try XCTUnwrap(try service.json("/v1/jobs", method: "POST", body: Self.periodicJob).object["id"] as? String)
        let interrupted = try service.waitForJob(id)
        let fresh = try service.waitForJob(freshID)
        XCTAssertEqual(interrupted["status"] as? String, "succeeded", "\(interrupted)\n\(service.logText())")
        XCTAssertEqual(fresh["status"] as? String, "succeeded", "\(fresh)")
        let messages = try service.events(ofJob: id).compactMap { $0["message"] as? String }
        XCTAssertTrue(messages.contains { $0.contains("resumes from its last checkpoint") }, "\(messages)")
        // The resumed attempt's first step is the one after the checkpoint: nothing older is trained again.
        let replayed = try stepRows(service, id).filter { ($0["wall_time"] as? Double ?? 0) > killed }
        XCTAssertEqual(replayed.compactMap { $0["step"] as? Int }.min(), resumesAfter + 1)
        XCTAssertEqual((interrupted["result"] as? [String: Any])?["test_metric"] as? Double,
                       (fresh["result"] as? [String: Any])?["test_metric"] as? Double)
        XCTAssertEqual(try losses(service, id), try losses(service, freshID), "the same curve, step for step")
        service.signal(SIGTERM)
        XCTAssertEqual(service.waitForExit(timeout: 60), 0)
    }

    /// Killed three times, each time once the attempt wrote a periodic checkpoint: every attempt moves the job
    /// on, and it finishes with one loss row per step.
    func testRepeatedSIGKILLsWiderThanTheIntervalStillFinish() throws {
        var resumePoints: [Int] = []
        for _ in 0..<3 {
            let service = try periodicService()
            if resumePoints.isEmpty {
                XCTAssertEqual(try service.json("/v1/jobs", method: "POST", body: Self.periodicJob).status, 201)
            }
            let id = try onlyJobID(service)
            let written = try waitForPeriodicCheckpoint(service, id, after: resumePoints.last ?? 0)
            service.signal(SIGKILL)
            _ = service.waitForExit(timeout: 10)
            let resumesAfter = try completeLastCheckpointStep(id)
            XCTAssertGreaterThanOrEqual(resumesAfter, written)
            resumePoints.append(resumesAfter)
        }
        XCTAssertEqual(resumePoints, resumePoints.sorted(), "no attempt goes back: \(resumePoints)")
        XCTAssertEqual(Set(resumePoints).count, 3, "each attempt checkpoints further on: \(resumePoints)")

        let service = try periodicService()
        let id = try onlyJobID(service)
        let job = try service.waitForJob(id)
        XCTAssertEqual(job["status"] as? String, "succeeded", "\(job)\n\(service.logText())")
        XCTAssertEqual(job["attempt"] as? Int, 4)
        XCTAssertEqual(try stepRows(service, id).compactMap { $0["step"] as? Int }, Array(1...400))
        service.signal(SIGTERM)
        XCTAssertEqual(service.waitForExit(timeout: 60), 0)
    }

    private func onlyJobID(_ service: ServiceProcess) throws -> String {
        try XCTUnwrap((try service.json("/v1/jobs").object["data"] as? [[String: Any]])?.first?["id"] as? String)
    }

    /// Waits for the job's first `checkpoint` event past `step` and returns its step.
    private func waitForPeriodicCheckpoint(_ service: ServiceProcess, _ id: String, after step: Int) throws -> Int {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let steps = try service.events(ofJob: id).filter { $0["type"] as? String == "checkpoint" }
                .compactMap { ($0["data"] as? [String: Any])?["step"] as? Int }
            if let written = steps.first(where: { $0 > step }) { return written }
            if try service.json("/v1/jobs/\(id)").object["status"] as? String == "succeeded" {
                XCTFail("the job ended before a periodic checkpoint past step \(step)")
                return -1
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTFail("no periodic checkpoint past step \(step); log:\n\(service.logText())")
        return -1
    }

    /// The job's `last` file after a kill: it must read completely (the write is atomic); returns its step.
    private func completeLastCheckpointStep(_ id: String, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let path = "\(world.dataDirectory)/checkpoints/\(id)/last.safetensors"
        let checkpoint = try Safetensors.read(path: path)
        XCTAssertEqual(checkpoint.metadata["format"], Trainer.checkpointFormat, file: file, line: line)
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf",
                                                                        nan: "nan")
        let state = try decoder.decode(TrainingState.self, from: Data((checkpoint.metadata["state"] ?? "").utf8))
        return state.step
    }

    private func stepRows(_ service: ServiceProcess, _ id: String) throws -> [[String: Any]] {
        try service.json("/v1/jobs/\(id)/metrics?keys=train_loss&limit=10000").object["data"] as? [[String: Any]] ?? []
    }
}
