import Foundation
import Checksum
import XCTest
import JobStore
import Training
@testable import Service

/// Sweep and job controls (cancel, pause, resume, retry) and Idempotency-Key handling.
final class APIControlTests: APITestCase {
    private func status(_ jobID: String) throws -> String {
        try XCTUnwrap(get("/v1/jobs/\(jobID)").json()["status"] as? String)
    }

    func testCancelWhileQueuedNeverStarts() throws {
        let sweep = try createSweep(seeds: [1])
        let jobID = try XCTUnwrap((sweep["jobs"] as? [String: Any])?["first_id"] as? String)
        let cancelled = try post("/v1/jobs/\(jobID)/cancel")
        XCTAssertEqual(cancelled.status, 200, cancelled.text)
        XCTAssertEqual(cancelled.json()["status"] as? String, "cancelled")
        XCTAssertNil(try claim())
        let again = try post("/v1/jobs/\(jobID)/cancel")
        XCTAssertEqual(again.status, 409)
        XCTAssertEqual(again.error["code"] as? String, "job_not_cancellable")
        XCTAssertEqual(again.error["type"] as? String, "conflict_error")
    }

    func testCancelWhileRunningGoesThroughCancelling() throws {
        let sweep = try createSweep(seeds: [1, 2])
        let sweepID = try XCTUnwrap(sweep["id"] as? String)
        let running = try XCTUnwrap(claim())
        let cancelling = try post("/v1/sweeps/\(sweepID)/cancel")
        XCTAssertEqual(cancelling.status, 200, cancelling.text)
        XCTAssertEqual(cancelling.json()["status"] as? String, "cancelling")
        XCTAssertEqual(try status(running.job.id), "cancelling")
        // The worker sees the request on its heartbeat, stops and confirms.
        let reply = try store.write { try $0.heartbeat(running.lease, leaseSeconds: Self.leaseSeconds, now: clock.now) }
        XCTAssertEqual(reply, .cancelRequested)
        _ = try store.write { try $0.confirmCancelled(running.lease, now: clock.now) }
        XCTAssertEqual(try status(running.job.id), "cancelled")
        XCTAssertEqual(try get("/v1/sweeps/\(sweepID)").json()["status"] as? String, "cancelled")
        XCTAssertEqual(try post("/v1/sweeps/\(sweepID)/cancel").error["code"] as? String, "sweep_not_cancellable")
        XCTAssertEqual(try post("/v1/sweeps/\(sweepID)/resume").status, 409)
    }

    func testPauseStartsNothingNewAndResumeContinues() throws {
        let sweepID = try XCTUnwrap(createSweep(seeds: [1, 2, 3])["id"] as? String)
        let running = try XCTUnwrap(claim())
        let paused = try post("/v1/sweeps/\(sweepID)/pause")
        XCTAssertEqual(paused.json()["status"] as? String, "paused")
        XCTAssertNil(try claim())
        // The running job finishes while paused.
        _ = try store.write { try $0.finish(running.lease, result: "{}", now: clock.now) }
        XCTAssertEqual(try status(running.job.id), "succeeded")
        let resumed = try post("/v1/sweeps/\(sweepID)/resume", "{}")
        XCTAssertEqual(resumed.json()["status"] as? String, "active")
        XCTAssertNotNil(try claim())
        XCTAssertEqual(try post("/v1/sweeps/\(sweepID)/pause", #"{"now":true}"#).error["code"] as? String, "unknown_parameter")
    }

    func testRetryRequeuesOnlyFailedAndCancelled() throws {
        let sweepID = try XCTUnwrap(createSweep(seeds: [1, 2, 3, 4])["id"] as? String)
        let succeeded = try XCTUnwrap(claim())
        _ = try store.write { try $0.finish(succeeded.lease, result: #"{"metric":"accuracy","test_metric":0.7}"#, now: clock.now) }
        let failed = try XCTUnwrap(claim())
        _ = try store.write { try $0.fail(failed.lease, failure: JobFailure(code: "trainer_nan_loss", message: "NaN at step 3"), now: clock.now) }
        let cancelled = try XCTUnwrap(claim())
        _ = try store.write { try $0.cancelJob(id: cancelled.job.id, now: clock.now) }
        _ = try store.write { try $0.confirmCancelled(cancelled.lease, now: clock.now) }

        let failedJob = try get("/v1/jobs/\(failed.job.id)").json()
        let error = try XCTUnwrap(failedJob["error"] as? [String: Any])
        XCTAssertEqual(error["code"] as? String, "trainer_nan_loss")
        XCTAssertEqual(error["message"] as? String, "NaN at step 3")
        XCTAssertTrue(error["param"] is NSNull)

        let onlyFailed = try post("/v1/sweeps/\(sweepID)/retry", #"{"statuses":["failed"],"resume":"checkpoint"}"#)
        XCTAssertEqual(onlyFailed.status, 200, onlyFailed.text)
        XCTAssertEqual((onlyFailed.json()["counts"] as? [String: Int])?["queued"], 2)
        XCTAssertEqual(try status(cancelled.job.id), "cancelled")
        let all = try post("/v1/sweeps/\(sweepID)/retry")
        let counts = try XCTUnwrap(all.json()["counts"] as? [String: Int])
        XCTAssertEqual(counts["queued"], 3)
        XCTAssertEqual(counts["succeeded"], 1)
        XCTAssertEqual(counts.values.reduce(0, +), 4)
        XCTAssertEqual(try status(succeeded.job.id), "succeeded")
        XCTAssertTrue(try get("/v1/jobs/\(failed.job.id)").json()["error"] is NSNull)

        for (body, param) in [(#"{"statuses":["succeeded"]}"#, "statuses[0]"), (#"{"statuses":[]}"#, "statuses"),
                              (#"{"resume":"later"}"#, "resume"), (#"{"force":true}"#, "force")] {
            XCTAssertEqual(try post("/v1/sweeps/\(sweepID)/retry", body).error["param"] as? String, param, body)
        }
        let notRetryable = try post("/v1/jobs/\(succeeded.job.id)/retry")
        XCTAssertEqual(notRetryable.status, 409)
        XCTAssertEqual(notRetryable.error["code"] as? String, "job_not_retryable")
        XCTAssertEqual(try post("/v1/jobs/job_000000000000000000000000/retry").status, 404)
    }

    func testIdempotencyKeyReplaysRejectsOtherBodiesAndRequestsInFlight() throws {
        let body = #"{"tasks":["rte"],"k":[100],"seeds":[1,2],"methods":["lora"]}"#
        let key = [("Idempotency-Key", "sweep-1")]
        let first = try post("/v1/sweeps", body, headers: key)
        XCTAssertEqual(first.status, 201)
        XCTAssertNil(first.headers["idempotent-replayed"])
        let replay = try post("/v1/sweeps", body, headers: key)
        XCTAssertEqual(replay.status, 201)
        XCTAssertEqual(replay.headers["idempotent-replayed"], "true")
        XCTAssertEqual(replay.body, first.body)
        XCTAssertEqual(try store.read { try $0.jobs(limit: 100) }.items.count, 2)

        let other = try post("/v1/sweeps", body.replacingOccurrences(of: "[1,2]", with: "[1,2,3]"), headers: key)
        XCTAssertEqual(other.status, 422)
        XCTAssertEqual(other.error["code"] as? String, "idempotency_key_reused")

        // A request holding the key: its marker is in the store and it has no response yet.
        let identity = IdempotentRequest(key: "sweep-2", method: "POST", path: "/v1/sweeps", bodySHA256: String(repeating: "0", count: 64))
        _ = try store.write { try $0.beginIdempotentRequest(identity, now: clock.now) }
        let inFlight = try post("/v1/sweeps", body, headers: [("Idempotency-Key", "sweep-2")])
        XCTAssertEqual(inFlight.status, 422)  // another body hash under that key
        let sameBody = IdempotentRequest(key: "sweep-3", method: "POST", path: "/v1/sweeps",
                                         bodySHA256: SHA256.hex(Data(body.utf8)))
        _ = try store.write { try $0.beginIdempotentRequest(sameBody, now: clock.now) }
        let busy = try post("/v1/sweeps", body, headers: [("Idempotency-Key", "sweep-3")])
        XCTAssertEqual(busy.status, 409)
        XCTAssertEqual(busy.error["code"] as? String, "idempotency_key_in_use")

        // Failed requests are not stored: the key stays usable.
        XCTAssertEqual(try post("/v1/sweeps", "{}", headers: [("Idempotency-Key", "sweep-4")]).status, 400)
        XCTAssertEqual(try post("/v1/sweeps", body, headers: [("Idempotency-Key", "sweep-4")]).status, 201)
    }

    func testControlPostsHonourIdempotencyKeys() throws {
        let jobID = try XCTUnwrap((createSweep(seeds: [1])["jobs"] as? [String: Any])?["first_id"] as? String)
        let key = [("Idempotency-Key", "cancel-1")]
        let first = try post("/v1/jobs/\(jobID)/cancel", headers: key)
        XCTAssertEqual(first.status, 200)
        // Without the key a second cancel is a conflict; with it, the first answer is replayed.
        let replay = try post("/v1/jobs/\(jobID)/cancel", headers: key)
        XCTAssertEqual(replay.status, 200)
        XCTAssertEqual(replay.headers["idempotent-replayed"], "true")
        XCTAssertEqual(try post("/v1/jobs/\(jobID)/cancel").status, 409)
        XCTAssertEqual(try post("/v1/jobs/\(jobID)/cancel", headers: [("Idempotency-Key", String(repeating: "k", count: 256))])
            .error["param"] as? String, "Idempotency-Key")
    }

    func testConcurrentRequestsWithOneKeyCreateOneSweep() throws {
        let body = #"{"tasks":["rte"],"k":[100],"seeds":[1,2,3],"methods":["lora","adapter"]}"#
        let lock = NSLock()
        var codes: [Int] = []
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            let status = (try? post("/v1/sweeps", body, headers: [("Idempotency-Key", "race")]).status) ?? -1
            lock.lock()
            codes.append(status)
            lock.unlock()
        }
        XCTAssertEqual(codes.count, 6)
        XCTAssertTrue(codes.allSatisfy { $0 == 201 || $0 == 409 }, "\(codes)")
        XCTAssertTrue(codes.contains(201))
        XCTAssertEqual(try store.read { try $0.sweeps(limit: 10) }.items.count, 1)
        XCTAssertEqual(try store.read { try $0.jobs(limit: 100) }.items.count, 6)
    }
}
