import Foundation
import XCTest
@testable import JobStore

final class QueueTests: StoreTestCase {
    // MARK: Enqueue

    func testCreateSweepStoresAllJobsQueuedInGridOrder() throws {
        let created = try createSweep(seeds: 3, maxConcurrency: 2)
        XCTAssertTrue(created.sweep.id.hasPrefix("swp_"))
        XCTAssertEqual(created.jobIDs.count, 3)
        XCTAssertEqual(created.sweep.status, .active)
        XCTAssertEqual(created.sweep.maxConcurrency, 2)
        XCTAssertEqual(created.sweep.jobCount, 3)
        XCTAssertEqual(created.sweep.counts, [.queued: 3, .running: 0, .cancelling: 0, .succeeded: 0, .failed: 0, .cancelled: 0])
        let first = try job(created.jobIDs[0])
        XCTAssertEqual(first.sweepID, created.sweep.id)
        XCTAssertEqual(first.cellKey, "rte/K=100/seed=1/unipelt-apl")
        XCTAssertEqual(first.status, .queued)
        XCTAssertEqual(first.attempt, 0)
        XCTAssertEqual(first.maxAttempts, 3)
        XCTAssertEqual(first.createdAt, now)
        XCTAssertNil(first.startedAt)
        XCTAssertEqual(try claim(3).map(\.job.id), Array(created.jobIDs.prefix(2)), "max_concurrency 2")
    }

    func testDuplicateCellKeyInASweepCreatesNothing() throws {
        XCTAssertThrowsError(try store.write {
            try $0.createSweep(NewSweep(name: "dup", spec: "{}"), jobs: [newJob(), newJob()], now: now)
        }) { error in
            guard case .sqlite(let failure)? = error as? JobStoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(failure.isConstraintViolation)
            XCTAssertTrue(failure.message.contains("jobs.sweep_id, jobs.cell_key"), failure.message)
        }
        XCTAssertEqual(try store.read { try $0.sweeps(limit: 10) }.items.count, 0)
    }

    func testSingleJobsBelongToNoSweepAndMayShareKeys() throws {
        let a = try store.write { try $0.enqueueJob(newJob(k: .all), now: now) }
        let b = try store.write { try $0.enqueueJob(newJob(k: .all), now: now) }
        XCTAssertNil(a.sweepID)
        XCTAssertEqual(a.k, .all)
        XCTAssertNotEqual(a.id, b.id)
    }

    /// A 10,000-job sweep is one transaction (timing is in `unipelt bench store`).
    func testTenThousandJobSweep() throws {
        let jobs = (0..<10_000).map { newJob(seed: $0) }
        let created = try store.write { try $0.createSweep(NewSweep(name: "big", spec: "{}"), jobs: jobs, now: now) }
        XCTAssertEqual(created.sweep.counts[.queued], 10_000)
        let page = try store.read { try $0.jobs(JobFilter(sweepID: created.sweep.id), limit: 100) }
        XCTAssertEqual(page.items.count, 100)
        XCTAssertTrue(page.hasMore)
    }

    // MARK: Claim

    func testClaimIsFIFOAcrossSweepsAndSetsTheLease() throws {
        let older = try createSweep(seeds: 2, at: now - 10)
        let single = try store.write { try $0.enqueueJob(newJob(task: "sst2"), now: now - 5) }
        let newer = try createSweep(seeds: 1, at: now)
        let claimed = try claim(10, owner: "worker-a")
        XCTAssertEqual(claimed.map(\.job.id), older.jobIDs + [single.id] + newer.jobIDs)
        for claim in claimed {
            XCTAssertEqual(claim.job.status, .running)
            XCTAssertEqual(claim.job.attempt, 1)
            XCTAssertEqual(claim.lease.attempt, 1)
            XCTAssertEqual(claim.job.leaseOwner, "worker-a")
            XCTAssertEqual(claim.job.leaseExpiresAt, now + lease)
            XCTAssertEqual(claim.job.startedAt, now)
            XCTAssertEqual(claim.lease.token.count, 32)
        }
        XCTAssertEqual(Set(claimed.map(\.lease.token)).count, 4)
        XCTAssertEqual(try claim(1), [])
    }

    /// A claim's id finds the job it leased while that lease holds it, for the owner that claimed it only; once the
    /// job is requeued (or rescued, re-claimed, ended), the id finds nothing.
    func testAClaimIDFindsItsJobWhileTheLeaseHoldsIt() throws {
        try createSweep(seeds: 2)
        let first = try store.write { try $0.claim(limit: 1, owner: "w1", leaseSeconds: lease, now: now, claimID: "c1") }
        XCTAssertEqual(first.count, 1)
        XCTAssertEqual(try store.write { try $0.claimed(claimID: "c1", owner: "w1", now: now) }, first[0])
        XCTAssertNil(try store.write { try $0.claimed(claimID: "c1", owner: "w2", now: now) })
        XCTAssertNil(try store.write { try $0.claimed(claimID: "c2", owner: "w1", now: now) })
        _ = try store.write { try $0.requeue(first[0].lease, reason: "test", now: now) }
        XCTAssertNil(try store.write { try $0.claimed(claimID: "c1", owner: "w1", now: now) })
        // The next claim, under another id, takes the requeued job again; the old id names nothing.
        let next = try store.write { try $0.claim(limit: 1, owner: "w1", leaseSeconds: lease, now: now, claimID: "c3") }
        XCTAssertEqual(next.map(\.job.id), first.map(\.job.id))
        XCTAssertNil(try store.write { try $0.claimed(claimID: "c1", owner: "w1", now: now) })
        XCTAssertEqual(try store.write { try $0.claimed(claimID: "c3", owner: "w1", now: now) }?.lease, next[0].lease)
        // Found without renewing the lease; once the lease has run out (the rescuer not yet there), the id finds
        // nothing, however often the claim is sent again.
        let found = try store.write { try $0.claimed(claimID: "c3", owner: "w1", now: now + lease - 1) }
        XCTAssertEqual(found?.job.leaseExpiresAt, now + lease)
        XCTAssertNil(try store.write { try $0.claimed(claimID: "c3", owner: "w1", now: now + lease) })
    }

    func testClaimHonoursLimit() throws {
        try createSweep(seeds: 5)
        XCTAssertEqual(try claim(2).count, 2)
        XCTAssertEqual(try claim(2).count, 2)
        XCTAssertEqual(try claim(2).count, 1)
    }

    func testPausedSweepIsSkippedUntilResumed() throws {
        let paused = try createSweep(seeds: 2, at: now - 10)
        let other = try createSweep(seeds: 1)
        XCTAssertEqual(try store.write { try $0.pauseSweep(id: paused.sweep.id, now: now) }.status, .paused)
        XCTAssertEqual(try claim(5).map(\.job.id), other.jobIDs)
        XCTAssertEqual(try store.write { try $0.resumeSweep(id: paused.sweep.id, now: now) }.status, .active)
        XCTAssertEqual(try claim(5).map(\.job.id), paused.jobIDs)
    }

    func testMaxConcurrencyLimitsOneClaimOfManyAndLaterClaims() throws {
        let limited = try createSweep(seeds: 5, maxConcurrency: 2, at: now - 10)
        let free = try createSweep(seeds: 2, at: now)
        let first = try claim(10)
        XCTAssertEqual(first.map(\.job.id), Array(limited.jobIDs.prefix(2)) + free.jobIDs)
        XCTAssertEqual(try claim(10), [])
        // A cancelling job still occupies its slot until its worker stops.
        _ = try store.write { try $0.cancelJob(id: first[0].job.id, now: now) }
        XCTAssertEqual(try claim(10), [])
        _ = try store.write { try $0.confirmCancelled(first[0].lease, now: now) }
        XCTAssertEqual(try claim(10).map(\.job.id), [limited.jobIDs[2]])
    }

    func testWithinASweepTheLargestExpectedCostIsClaimedFirst() throws {
        func sweep(_ costs: [Double], maxConcurrency: Int? = nil, at time: Int) throws -> CreatedSweep {
            try store.write {
                try $0.createSweep(NewSweep(name: "costs", spec: "{}", maxConcurrency: maxConcurrency),
                                   jobs: costs.enumerated().map { seed, cost in
                                       var job = newJob(seed: seed + 1)
                                       job.expectedCost = cost
                                       return job
                                   }, now: time)
            }
        }
        let older = try sweep([1, 50, 7], at: now - 10)
        let limited = try sweep([2, 9, 4], maxConcurrency: 2, at: now - 5)
        let newer = try sweep([3, 30], at: now)
        // Older sweeps first; inside each sweep the largest first, and a limited sweep offers its largest.
        XCTAssertEqual(try claim(2).map(\.job.id), [older.jobIDs[1], older.jobIDs[2]])
        XCTAssertEqual(try claim(10).map(\.job.id),
                       [older.jobIDs[0], limited.jobIDs[1], limited.jobIDs[2], newer.jobIDs[1], newer.jobIDs[0]])
    }

    // MARK: Heartbeat and fencing

    func testHeartbeatExtendsTheLeaseAndRecordsProgress() throws {
        try createSweep(seeds: 1)
        let claimed = try claimOne()
        let progress = JobProgress(step: 120, totalSteps: 1000, epoch: 1.5, etaSeconds: 300)
        let reply = try store.write {
            try $0.heartbeat(claimed.lease, progress: progress, bestMetric: NamedValue(name: "valid_acc", value: 0.7),
                             leaseSeconds: lease, now: now + 30)
        }
        XCTAssertEqual(reply, .keepRunning)
        var current = try job(claimed.job.id)
        XCTAssertEqual(current.leaseExpiresAt, now + 30 + lease)
        XCTAssertEqual(current.progress, progress)
        XCTAssertEqual(current.bestMetric, NamedValue(name: "valid_acc", value: 0.7))
        // A heartbeat without progress keeps the last progress.
        _ = try store.write { try $0.heartbeat(claimed.lease, leaseSeconds: lease, now: now + 40) }
        current = try job(claimed.job.id)
        XCTAssertEqual(current.progress, progress)
        XCTAssertEqual(current.leaseExpiresAt, now + 40 + lease)
    }

    /// Every worker-owned write with a token that no longer owns the job changes nothing.
    func testEveryWorkerWriteIsFencedByTheLeaseToken() throws {
        try createSweep(seeds: 1)
        let claimed = try claimOne()
        let stale = Lease(jobID: claimed.lease.jobID, token: String(repeating: "0", count: 32), attempt: 1)
        let lost = JobStoreError.leaseLost(jobID: stale.jobID)
        let checkpoint = NewCheckpoint(name: "last", step: 1, path: "p", bytes: 1, sha256: String(repeating: "a", count: 64))
        let writes: [(String, (StoreWriter) throws -> Void)] = [
            ("heartbeat", { _ = try $0.heartbeat(stale, progress: JobProgress(step: 9), leaseSeconds: 60, now: self.now) }),
            ("finish", { _ = try $0.finish(stale, result: "{}", now: self.now) }),
            ("fail", { _ = try $0.fail(stale, failure: JobFailure(code: "x", message: "y"), now: self.now) }),
            ("requeue", { _ = try $0.requeue(stale, reason: "drain", now: self.now) }),
            ("confirmCancelled", { _ = try $0.confirmCancelled(stale, now: self.now) }),
            ("metrics", { try $0.recordMetrics(stale, step: 1, epoch: nil, wallTime: 0, values: [NamedValue(name: "l", value: 1)]) }),
            ("gates", { try $0.recordGates(stale, step: 1, values: [GateValue(layer: 0, submodule: .adapter, value: 1)]) }),
            ("checkpoint", { _ = try $0.recordCheckpoint(stale, checkpoint, isBest: true, now: self.now) }),
            ("event", { _ = try $0.appendEvent(NewEvent(jobID: stale.jobID, type: "t", message: "m"), lease: stale, now: self.now) }),
        ]
        let before = try job(claimed.job.id)
        for (name, write) in writes {
            XCTAssertThrowsError(try store.write(write), name) { XCTAssertEqual($0 as? JobStoreError, lost, name) }
        }
        XCTAssertEqual(try job(claimed.job.id), before)
        let rows = try store.read { reader in
            try ["metrics", "gates", "checkpoints"].map { table in
                try reader.connection.queryOne("SELECT count(*) FROM \(table)") { $0.int(0) }!
            }
        }
        XCTAssertEqual(rows, [0, 0, 0])
        XCTAssertEqual(try store.read { try $0.events(jobID: claimed.job.id, limit: 10) }.items.map(\.type), ["claimed"])
    }

    // MARK: Transitions out of running

    func testFinishStoresTheResultOnce() throws {
        let created = try createSweep(seeds: 1)
        let claimed = try claimOne()
        let finished = try store.write { try $0.finish(claimed.lease, result: #"{"test_metric":{"name":"acc","value":0.8}}"#, now: now + 100) }
        XCTAssertEqual(finished.status, .succeeded)
        XCTAssertEqual(finished.finishedAt, now + 100)
        XCTAssertNil(finished.leaseOwner)
        XCTAssertEqual(finished.result, #"{"test_metric":{"name":"acc","value":0.8}}"#)
        XCTAssertEqual(try sweep(created.sweep.id).status, .completed)
        // The same worker cannot finish twice: its lease ended.
        assertThrows(.leaseLost(jobID: claimed.job.id), try store.write { try $0.finish(claimed.lease, result: "{}", now: now) })
    }

    func testFailStoresTheErrorAndIsNotRetriedAutomatically() throws {
        try createSweep(seeds: 1)
        let claimed = try claimOne()
        let failed = try store.write {
            try $0.fail(claimed.lease, failure: JobFailure(code: "trainer_nan_loss", message: "loss became NaN at step 12"), now: now)
        }
        XCTAssertEqual(failed.status, .failed)
        XCTAssertEqual(failed.error, JobFailure(code: "trainer_nan_loss", message: "loss became NaN at step 12"))
        XCTAssertEqual(try claim(1), [])
    }

    func testGracefulRequeueDoesNotSpendAnAttempt() throws {
        try createSweep(seeds: 1, maxAttempts: 1)
        var claimed = try claimOne()
        for attempt in 1...3 {
            XCTAssertEqual(claimed.job.attempt, attempt)
            let requeued = try store.write { try $0.requeue(claimed.lease, reason: "SIGTERM", now: now) }
            XCTAssertEqual(requeued.status, .queued)
            XCTAssertNil(requeued.leaseOwner)
            claimed = try claimOne()
        }
        // max_attempts = 1, yet after three graceful requeues the fourth run is still within budget:
        // only a run that ends without a result counts.
        XCTAssertEqual(try store.write { try $0.rescueExpiredLeases(now: now + lease + 1) }.failed, [claimed.job.id])
    }

    // MARK: Cancel

    func testCancelQueuedRunningAndTerminalJobs() throws {
        let created = try createSweep(seeds: 3)
        let running = try claimOne()
        let queuedID = created.jobIDs[1]
        XCTAssertEqual(try store.write { try $0.cancelJob(id: queuedID, now: now) }.status, .cancelled)
        XCTAssertEqual(try job(queuedID).finishedAt, now)
        XCTAssertEqual(try store.write { try $0.cancelJob(id: running.job.id, now: now) }.status, .cancelling)
        XCTAssertEqual(try store.write { try $0.cancelJob(id: running.job.id, now: now) }.status, .cancelling)
        XCTAssertEqual(try store.write { try $0.heartbeat(running.lease, leaseSeconds: lease, now: now) }, .cancelRequested)
        let cancelled = try store.write { try $0.confirmCancelled(running.lease, now: now + 5) }
        XCTAssertEqual(cancelled.status, .cancelled)
        XCTAssertEqual(cancelled.finishedAt, now + 5)
        assertThrows(.illegalTransition(.job, id: queuedID, status: "cancelled", action: .cancel),
                     try store.write { try $0.cancelJob(id: queuedID, now: now) })
        assertThrows(.notFound(.job, id: "job_nope"), try store.write { try $0.cancelJob(id: "job_nope", now: now) })
        // Only the untouched job is left to claim.
        XCTAssertEqual(try claim(5).map(\.job.id), [created.jobIDs[2]])
    }

    func testConfirmCancelledOnlyWhileCancelling() throws {
        try createSweep(seeds: 1)
        let claimed = try claimOne()
        assertThrows(.illegalTransition(.job, id: claimed.job.id, status: "running", action: .confirmCancellation),
                     try store.write { try $0.confirmCancelled(claimed.lease, now: now) })
    }

    func testWorkOnACancellingJobMayStillFinishOrBeHandedBack() throws {
        try createSweep(seeds: 2)
        let claimed = try claim(2)
        for claim in claimed { _ = try store.write { try $0.cancelJob(id: claim.job.id, now: now) } }
        XCTAssertEqual(try store.write { try $0.finish(claimed[0].lease, result: "{}", now: now) }.status, .succeeded)
        XCTAssertEqual(try store.write { try $0.requeue(claimed[1].lease, reason: "drain", now: now) }.status, .cancelled)
    }

    // MARK: Rescue

    func testExpiredLeaseIsRequeuedAndTheNextClaimIsTheNextAttempt() throws {
        try createSweep(seeds: 1)
        let first = try claimOne()
        XCTAssertTrue(try store.write { try $0.rescueExpiredLeases(now: now + lease) }.isEmpty, "not expired yet")
        let report = try store.write { try $0.rescueExpiredLeases(now: now + lease + 1) }
        XCTAssertEqual(report, RescueReport(requeued: [first.job.id], failed: [], cancelled: []))
        XCTAssertEqual(try job(first.job.id).status, .queued)
        let second = try claimOne(at: now + 100)
        XCTAssertEqual(second.job.id, first.job.id)
        XCTAssertEqual(second.job.attempt, 2)
        XCTAssertEqual(second.job.startedAt, now, "started_at keeps the first start")
        assertThrows(.leaseLost(jobID: first.job.id), try store.write { try $0.heartbeat(first.lease, leaseSeconds: 60, now: now) })
    }

    /// A poison job (its worker keeps dying) ends failed with max_attempts_exceeded after max_attempts runs.
    func testPoisonJobFailsAfterMaxAttempts() throws {
        try createSweep(seeds: 1, maxAttempts: 3)
        var time = now
        for attempt in 1...3 {
            let claimed = try claimOne(at: time)
            XCTAssertEqual(claimed.job.attempt, attempt)
            time += lease + 1
            let report = try store.write { try $0.rescueExpiredLeases(now: time) }
            XCTAssertEqual(attempt < 3 ? report.requeued : report.failed, [claimed.job.id])
        }
        let failed = try store.read { try $0.jobs(limit: 1) }.items[0]
        XCTAssertEqual(failed.status, .failed)
        XCTAssertEqual(failed.error?.code, "max_attempts_exceeded")
        XCTAssertEqual(failed.error?.message, "attempt 3 of 3 ended without a result (lease expired, worker w1)")
        XCTAssertEqual(failed.finishedAt, time)
        let events = try store.read { try $0.events(jobID: failed.id, limit: 20) }.items.map(\.type)
        XCTAssertEqual(events, ["claimed", "rescued", "claimed", "rescued", "claimed", "rescued"])
    }

    func testLeaseRescuerPassUsesTheGivenTime() throws {
        try createSweep(seeds: 1)
        let claimed = try claimOne()
        let rescuer = LeaseRescuer(store: store, clock: { 0 })
        XCTAssertTrue(try rescuer.runOnce(now: now + lease).isEmpty)
        XCTAssertEqual(try rescuer.runOnce(now: now + lease + 1).requeued, [claimed.job.id])
    }

    func testExpiredCancellingJobBecomesCancelled() throws {
        try createSweep(seeds: 1)
        let claimed = try claimOne()
        _ = try store.write { try $0.cancelJob(id: claimed.job.id, now: now) }
        XCTAssertEqual(try store.write { try $0.rescueExpiredLeases(now: now + lease + 1) }.cancelled, [claimed.job.id])
        XCTAssertEqual(try job(claimed.job.id).status, .cancelled)
    }

    func testStartupRescuesLeasesOfPreviousInstancesOnly() throws {
        try createSweep(seeds: 2)
        let old = try claimOne(owner: "old")
        let restarted = try JobStore(path: databasePath, now: now + 1)
        XCTAssertNotEqual(restarted.instanceID, store.instanceID)
        let current = try restarted.write { try $0.claim(limit: 1, owner: "new", leaseSeconds: lease, now: now + 1) }[0]
        let report = try restarted.write { try $0.rescueLeasesOfPreviousInstances(now: now + 2) }
        XCTAssertEqual(report.requeued, [old.job.id], "the old lease has not expired but its process is gone")
        XCTAssertEqual(try job(current.job.id).status, .running)
    }

    /// A pull worker's job keeps training while the service restarts: its lease belongs to no process
    /// instance, so only its expiry rescues it.
    func testStartupLeavesTheLeasesOfWorkersInOtherProcessesToExpire() throws {
        try createSweep(seeds: 1)
        let remote = try store.write {
            try $0.claim(limit: 1, owner: "node7 pid 12", leaseSeconds: lease, now: now, forThisProcess: false)
        }[0]
        let restarted = try JobStore(path: databasePath, now: now + 1)
        XCTAssertTrue(try restarted.write { try $0.rescueLeasesOfPreviousInstances(now: now + 1) }.isEmpty)
        XCTAssertEqual(try job(remote.job.id).status, .running)
        XCTAssertEqual(try restarted.write { try $0.rescueExpiredLeases(now: now + lease + 1) }.requeued, [remote.job.id])
    }

    // MARK: Retry

    func testRetryJobOnlyFromFailedOrCancelled() throws {
        let created = try createSweep(seeds: 4)
        let claimed = try claim(3)
        _ = try store.write { try $0.finish(claimed[0].lease, result: "{}", now: now) }
        _ = try store.write { try $0.fail(claimed[1].lease, failure: JobFailure(code: "oom", message: "m"), now: now) }
        for (id, status) in [(claimed[0].job.id, "succeeded"), (claimed[2].job.id, "running"), (created.jobIDs[3], "queued")] {
            assertThrows(.illegalTransition(.job, id: id, status: status, action: .retry),
                         try store.write { try $0.retryJob(id: id, now: now) })
        }
        let retried = try store.write { try $0.retryJob(id: claimed[1].job.id, now: now) }
        XCTAssertEqual(retried.status, .queued)
        XCTAssertNil(retried.error)
        XCTAssertNil(retried.finishedAt)
        XCTAssertEqual(retried.attempt, 1)
        let again = try claimOne()
        XCTAssertEqual(again.job.id, claimed[1].job.id, "FIFO: the retried job keeps its place by creation order")
        XCTAssertEqual(again.job.attempt, 2)
        XCTAssertEqual(try claimOne().job.id, created.jobIDs[3])
    }

    /// `resume: "scratch"`: the job's curves, gates and checkpoint rows go, the next claim says to start
    /// fresh, and only the lease holder can clear that (after deleting the files).
    func testRetryFromScratchDiscardsHistoryAndFlagsTheNextClaim() throws {
        try createSweep(seeds: 2)
        let first = try claimOne()
        try store.write { writer in
            try writer.recordMetrics(first.lease, step: 1, epoch: 0, wallTime: 0, values: [NamedValue(name: "train_loss", value: 1)])
            try writer.recordGates(first.lease, step: 1, values: [GateValue(layer: 0, submodule: .adapter, value: 0.5)])
            _ = try writer.recordCheckpoint(first.lease, NewCheckpoint(name: "best", step: 1, path: "/x", bytes: 1, sha256: String(repeating: "ab", count: 32)),
                                            isBest: true, now: now)
            _ = try writer.cancelJob(id: first.job.id, now: now)
            _ = try writer.confirmCancelled(first.lease, now: now)
        }
        let retried = try store.write { try $0.retryJob(id: first.job.id, fromScratch: true, now: now) }
        XCTAssertTrue(retried.startsFresh)
        XCTAssertNil(retried.bestCheckpointID)
        XCTAssertNil(retried.bestMetric)
        for table in ["metrics", "gates", "checkpoints"] {
            XCTAssertEqual(try store.read { try $0.connection.queryOne("SELECT count(*) FROM \(table) WHERE job_id = ?",
                                                                       [.text(first.job.id)]) { $0.int(0) } }, 0, table)
        }
        let again = try claimOne()
        XCTAssertEqual(again.job.id, first.job.id)
        XCTAssertTrue(again.job.startsFresh)
        assertThrows(.leaseLost(jobID: first.job.id), try store.write { try $0.markStartedFresh(first.lease) })
        try store.write { try $0.markStartedFresh(again.lease) }
        XCTAssertFalse(try job(first.job.id).startsFresh)
        XCTAssertFalse(try claimOne().job.startsFresh, "an ordinary job starts without the flag")
    }

    func testRetriedJobGetsAFreshAttemptBudget() throws {
        try createSweep(seeds: 1, maxAttempts: 1)
        let claimed = try claimOne()
        XCTAssertEqual(try store.write { try $0.rescueExpiredLeases(now: now + lease + 1) }.failed, [claimed.job.id])
        _ = try store.write { try $0.retryJob(id: claimed.job.id, now: now) }
        let second = try claimOne()
        XCTAssertEqual(second.job.attempt, 2)
        XCTAssertEqual(try store.write { try $0.rescueExpiredLeases(now: now + lease + 1) }.failed, [claimed.job.id],
                       "one attempt per retry with max_attempts = 1")
    }
}
