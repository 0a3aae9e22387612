import XCTest
@testable import JobStore

final class SweepControlTests: StoreTestCase {
    /// Pause starts nothing new, running jobs go on and may finish; resume continues.
    func testPauseLetsRunningJobsFinish() throws {
        let created = try createSweep(seeds: 3)
        let running = try claimOne()
        let paused = try store.write { try $0.pauseSweep(id: created.sweep.id, now: now + 1) }
        XCTAssertEqual(paused.state, .paused)
        XCTAssertEqual(paused.status, .paused)
        XCTAssertEqual(paused.updatedAt, now + 1)
        XCTAssertEqual(try store.write { try $0.pauseSweep(id: created.sweep.id, now: now + 2) }.updatedAt, now + 1,
                       "pausing twice changes nothing")
        XCTAssertEqual(try claim(5), [])
        XCTAssertEqual(try store.write { try $0.heartbeat(running.lease, leaseSeconds: lease, now: now) }, .keepRunning)
        _ = try store.write { try $0.finish(running.lease, result: "{}", now: now) }
        _ = try store.write { try $0.resumeSweep(id: created.sweep.id, now: now) }
        XCTAssertEqual(try claim(5).map(\.job.id), Array(created.jobIDs.dropFirst()))
    }

    /// Cancelling a sweep: queued jobs never start, running ones go through cancelling.
    func testCancelSweep() throws {
        let created = try createSweep(seeds: 3)
        let running = try claimOne()
        let cancelling = try store.write { try $0.cancelSweep(id: created.sweep.id, now: now) }
        XCTAssertEqual(cancelling.state, .cancelled)
        XCTAssertEqual(cancelling.status, .cancelling)
        XCTAssertEqual(cancelling.counts[.cancelled], 2)
        XCTAssertEqual(cancelling.counts[.cancelling], 1)
        XCTAssertEqual(try store.write { try $0.cancelSweep(id: created.sweep.id, now: now) }, cancelling, "idempotent")
        // A retry now would leave out the job still stopping (it ends cancelled after the retry): refused.
        assertThrows(.illegalTransition(.sweep, id: created.sweep.id, status: "cancelling", action: .retry),
                     try store.write { try $0.retrySweep(id: created.sweep.id, now: now) })
        XCTAssertEqual(try claim(5), [])
        XCTAssertEqual(try store.write { try $0.heartbeat(running.lease, leaseSeconds: lease, now: now) }, .cancelRequested)
        _ = try store.write { try $0.confirmCancelled(running.lease, now: now) }
        XCTAssertEqual(try sweep(created.sweep.id).status, .cancelled)
        for action in [TransitionAction.pause, .resume, .cancel] {
            assertThrows(.illegalTransition(.sweep, id: created.sweep.id, status: "cancelled", action: action),
                         try store.write { writer -> Sweep in
                             switch action {
                             case .pause: return try writer.pauseSweep(id: created.sweep.id, now: now)
                             case .resume: return try writer.resumeSweep(id: created.sweep.id, now: now)
                             default: return try writer.cancelSweep(id: created.sweep.id, now: now)
                             }
                         })
        }
    }

    /// The same holds for one job of an active sweep that is being cancelled on its own.
    func testRetryWaitsForAJobStillCancelling() throws {
        let created = try createSweep(seeds: 2)
        let running = try claimOne()
        _ = try store.write { try $0.cancelJob(id: running.job.id, now: now) }
        assertThrows(.illegalTransition(.sweep, id: created.sweep.id, status: "active", action: .retry),
                     try store.write { try $0.retrySweep(id: created.sweep.id, now: now) })
        _ = try store.write { try $0.confirmCancelled(running.lease, now: now) }
        XCTAssertEqual(try store.write { try $0.retrySweep(id: created.sweep.id, now: now) }.retriedJobIDs, [running.job.id])
    }

    func testCompletedSweepCannotBeCancelled() throws {
        let created = try createSweep(seeds: 1)
        let claimed = try claimOne()
        _ = try store.write { try $0.finish(claimed.lease, result: "{}", now: now) }
        XCTAssertEqual(try sweep(created.sweep.id).status, .completed)
        assertThrows(.illegalTransition(.sweep, id: created.sweep.id, status: "completed", action: .cancel),
                     try store.write { try $0.cancelSweep(id: created.sweep.id, now: now) })
    }

    func testUnknownSweep() {
        assertThrows(.notFound(.sweep, id: "swp_x"), try store.write { try $0.pauseSweep(id: "swp_x", now: now) })
        assertThrows(.notFound(.sweep, id: "swp_x"), try store.write { try $0.retrySweep(id: "swp_x", now: now) })
        assertThrows(.notFound(.sweep, id: "swp_x"), try sweep("swp_x"))
    }

    /// Retry re-queues failed and cancelled cells only; succeeded ones are untouched.
    func testRetrySweepRequeuesOnlyFailedAndCancelled() throws {
        let created = try createSweep(seeds: 5)
        let claimed = try claim(3)
        let succeeded = try store.write { try $0.finish(claimed[0].lease, result: #"{"v":1}"#, now: now) }
        _ = try store.write { try $0.fail(claimed[1].lease, failure: JobFailure(code: "oom", message: "m"), now: now) }
        _ = try store.write { try $0.cancelSweep(id: created.sweep.id, now: now) }
        _ = try store.write { try $0.confirmCancelled(claimed[2].lease, now: now) }
        XCTAssertEqual(try sweep(created.sweep.id).counts, [.queued: 0, .running: 0, .cancelling: 0, .succeeded: 1, .failed: 1, .cancelled: 3])

        let onlyFailed = try store.write { try $0.retrySweep(id: created.sweep.id, statuses: [.failed], now: now) }
        XCTAssertEqual(onlyFailed.retriedJobIDs, [claimed[1].job.id])
        XCTAssertEqual(onlyFailed.sweep.status, .active, "retry reactivates a cancelled sweep")

        let rest = try store.write { try $0.retrySweep(id: created.sweep.id, now: now) }
        XCTAssertEqual(rest.retriedJobIDs, [claimed[2].job.id] + created.jobIDs.suffix(2))
        XCTAssertEqual(rest.sweep.counts, [.queued: 4, .running: 0, .cancelling: 0, .succeeded: 1, .failed: 0, .cancelled: 0])
        XCTAssertEqual(try job(succeeded.id), succeeded)
        XCTAssertEqual(try claim(10).count, 4)
        XCTAssertEqual(try store.write { try $0.retrySweep(id: created.sweep.id, now: now) }.retriedJobIDs, [])
    }
}
