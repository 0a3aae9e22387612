// Queue operations on jobs: enqueue, claim with a lease, heartbeat, and
// the transitions out of running. Every write by a worker is fenced by its lease token: once the
// job was rescued, re-claimed or finished, the stale worker's writes change nothing and throw
// `leaseLost`, which tells it to stop.
//
// `attempt` counts claims and never goes down. Claims that must not count against `max_attempts`
// are added to `attempt_offset`: a graceful requeue (SIGTERM drain) adds one, and a retry sets it to
// `attempt`, giving the job a fresh budget. The budget is spent when `attempt - attempt_offset`
// reaches `max_attempts`.

/// A sweep just created, with its job ids in grid order.
public struct CreatedSweep: Equatable, Sendable {
    public let sweep: Sweep
    public let jobIDs: [String]
}

extension StoreWriter {
    /// Creates a sweep and all its jobs in this transaction: either all of them exist or none.
    /// Jobs are claimed in the order given. Throws a constraint failure if two jobs share a cell key.
    public func createSweep(_ new: NewSweep, jobs: [NewJob], now: Int) throws -> CreatedSweep {
        let id = newID("swp")
        try connection.run("""
            INSERT INTO sweeps (id, name, spec, metadata, max_concurrency, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, [.text(id), .text(new.name), .text(new.spec), .text(new.metadata), .int(new.maxConcurrency),
                  .integer(now), .integer(now)])
        let jobIDs = try jobs.map { try insertJob($0, sweepID: id, now: now) }
        return CreatedSweep(sweep: try sweep(id: id), jobIDs: jobIDs)
    }

    /// Enqueues a single job that belongs to no sweep.
    public func enqueueJob(_ new: NewJob, now: Int) throws -> Job {
        try job(id: insertJob(new, sweepID: nil, now: now))
    }

    private func insertJob(_ new: NewJob, sweepID: String?, now: Int) throws -> String {
        let id = newID("job")
        try connection.run("""
            INSERT INTO jobs (id, sweep_id, cell_key, spec, task, k, seed, method, variant, max_attempts, created_at,
                              expected_cost)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(id), .string(sweepID), .text(new.cellKey), .text(new.spec), .text(new.task),
                  .text(new.k.description), .integer(new.seed), .text(new.method), .text(new.variant),
                  .integer(new.maxAttempts), .integer(now), .real(max(new.expectedCost, 0))])
        return id
    }

    /// Claims up to `limit` queued jobs for `owner` in one statement, oldest first across sweeps and the
    /// largest `expected_cost` first within one,
    /// skipping paused and cancelled sweeps and never exceeding a sweep's `max_concurrency`
    /// (running and cancelling jobs count). Each claimed job gets a new random lease token valid
    /// until `now + leaseSeconds`. A claim for a worker in another process (`forThisProcess: false`, a pull
    /// worker) outlives this process instance: a restart of the service leaves it to run on, and only the
    /// expiry of its lease rescues it. `claimID`, the worker's name for this claim, is kept on the claimed job
    /// (`claimed(claimID:owner:)`).
    public func claim(limit: Int, owner: String, leaseSeconds: Int, now: Int,
                      forThisProcess: Bool = true, claimID: String? = nil) throws -> [ClaimedJob] {
        precondition(limit >= 1 && leaseSeconds >= 1, "claim needs limit ≥ 1 and leaseSeconds ≥ 1")
        // Sweeps without a limit take candidates straight off the queue index. Sweeps with one
        // rank their queued jobs and offer only as many as they have room for, so a claim of
        // several jobs cannot overshoot the limit.
        let claimed = try connection.query("""
            WITH open_sweeps AS (
                SELECT id, room FROM (
                    SELECT s.id, iif(s.max_concurrency IS NULL, NULL, s.max_concurrency - (
                               SELECT count(*) FROM jobs r
                               WHERE r.sweep_id = s.id AND r.status IN ('running', 'cancelling'))) AS room
                    FROM sweeps s WHERE s.state = 'active')
                WHERE room IS NULL OR room > 0
            ), unlimited AS (
                SELECT seq, created_at, expected_cost FROM jobs
                WHERE status = 'queued'
                  AND (sweep_id IS NULL OR sweep_id IN (SELECT id FROM open_sweeps WHERE room IS NULL))
                ORDER BY created_at, expected_cost DESC, seq LIMIT ?5
            ), limited AS (
                SELECT seq, created_at, expected_cost FROM (
                    SELECT j.seq, j.created_at, j.expected_cost, o.room,
                           row_number() OVER (PARTITION BY j.sweep_id
                                              ORDER BY j.created_at, j.expected_cost DESC, j.seq) AS rank
                    FROM open_sweeps o CROSS JOIN jobs j  -- from the few open limited sweeps into their jobs
                    WHERE o.room IS NOT NULL AND j.sweep_id = o.id AND j.status = 'queued')
                WHERE rank <= room
            )
            UPDATE jobs SET status = 'running', attempt = attempt + 1, lease_owner = ?1,
                   lease_token = lower(hex(randomblob(16))), lease_expires_at = ?2 + ?3, instance_id = ?4,
                   lease_in_this_process = ?6, started_at = coalesce(started_at, ?2), claim_id = ?7
            WHERE seq IN (SELECT seq FROM (SELECT * FROM unlimited UNION ALL SELECT * FROM limited)
                          ORDER BY created_at, expected_cost DESC, seq LIMIT ?5)
            RETURNING \(Job.columns), lease_token, seq, expected_cost
            """, [.text(owner), .integer(now), .integer(leaseSeconds), .text(instanceID), .integer(limit),
                  .integer(forThisProcess ? 1 : 0), .string(claimID)]) { row in
            (ClaimedJob(leasedRow: row), row.int(Job.columnCount + 1), row.double(Job.columnCount + 2))
        }
        // RETURNING gives no order; hand jobs out in queue order.
        let ordered = claimed.sorted { ($0.0.job.createdAt, -$0.2, $0.1) < ($1.0.job.createdAt, -$1.2, $1.1) }.map(\.0)
        for claim in ordered {
            try insertEvent(NewEvent(jobID: claim.job.id, type: "claimed",
                                     message: "attempt \(claim.job.attempt) claimed by \(owner)"), now: now)
        }
        return ordered
    }

    /// The job a claim named `claimID` leased to `owner`, while that lease still holds it (running, unexpired, not
    /// rescued, re-claimed or ended): a worker that sends a claim again because its reply was lost gets that job
    /// back. The lease is not renewed: a claim whose reply fails every time (the worker sends it again and again)
    /// must not hold its job past the lease; the worker's first heartbeat renews it.
    public func claimed(claimID: String, owner: String, now: Int) throws -> ClaimedJob? {
        try connection.queryOne("""
            SELECT \(Job.columns), lease_token FROM jobs
            WHERE claim_id = ?1 AND lease_owner = ?2 AND status = 'running' AND lease_expires_at > ?3
            """, [.text(claimID), .text(owner), .integer(now)], ClaimedJob.init(leasedRow:))
    }

    /// The status of the job `lease` names, if the lease still owns it; else throws `leaseLost`.
    /// Called inside the write transaction, so the check and the write that follows are atomic.
    public func fence(_ lease: Lease) throws -> JobStatus {
        guard let status = try connection.queryOne("SELECT status FROM jobs WHERE id = ? AND lease_token = ?",
                                                   [.text(lease.jobID), .text(lease.token)], { $0.text(0) }) else {
            throw JobStoreError.leaseLost(jobID: lease.jobID)
        }
        return JobStatus(rawValue: status)!  // CHECK constraint
    }

    /// Extends the lease to `now + leaseSeconds` and records progress and the best metric when given.
    /// Replies `.cancelRequested` once the job is being cancelled.
    public func heartbeat(_ lease: Lease, progress: JobProgress? = nil, bestMetric: NamedValue? = nil,
                          leaseSeconds: Int, now: Int) throws -> HeartbeatReply {
        let status = try connection.queryOne("""
            UPDATE jobs SET lease_expires_at = ?3 + ?4,
                   progress_step = iif(?5, ?6, progress_step),
                   progress_total_steps = iif(?5, ?7, progress_total_steps),
                   progress_epoch = iif(?5, ?8, progress_epoch),
                   progress_eta_seconds = iif(?5, ?9, progress_eta_seconds),
                   best_metric_name = iif(?10 IS NULL, best_metric_name, ?10),
                   best_metric_value = iif(?10 IS NULL, best_metric_value, ?11)
            WHERE id = ?1 AND lease_token = ?2
            RETURNING status
            """, [.text(lease.jobID), .text(lease.token), .integer(now), .integer(leaseSeconds),
                  .integer(progress == nil ? 0 : 1), .int(progress?.step), .int(progress?.totalSteps),
                  .double(progress?.epoch), .int(progress?.etaSeconds),
                  .string(bestMetric?.name), .double(bestMetric?.value)]) { $0.text(0) }
        guard let status else { throw JobStoreError.leaseLost(jobID: lease.jobID) }
        return status == JobStatus.cancelling.rawValue ? .cancelRequested : .keepRunning
    }

    /// The worker finished the job: `succeeded` with `result` (JSON text). Allowed while running
    /// or cancelling (the work is done, so it is kept). A re-run after a crash overwrites the
    /// same column, so a result is never stored twice.
    public func finish(_ lease: Lease, result: String, now: Int) throws -> Job {
        try endLease(lease, action: .finish, from: [.running, .cancelling], assignments: """
            status = 'succeeded', result = ?, finished_at = ?, error_code = NULL, error_message = NULL
            """, arguments: [.text(result), .integer(now)],
            event: NewEvent(jobID: lease.jobID, type: "succeeded", message: "attempt \(lease.attempt) succeeded"),
            now: now)
    }

    /// The worker gives up on the job: `failed` with `failure`. Not retried automatically.
    public func fail(_ lease: Lease, failure: JobFailure, now: Int) throws -> Job {
        try endLease(lease, action: .fail, from: [.running, .cancelling], assignments: """
            status = 'failed', error_code = ?, error_message = ?, finished_at = ?
            """, arguments: [.text(failure.code), .text(failure.message), .integer(now)],
            event: NewEvent(jobID: lease.jobID, level: .error, type: "failed",
                            message: "attempt \(lease.attempt) failed: \(failure.code): \(failure.message)"),
            now: now)
    }

    /// The worker hands the job back unfinished (graceful shutdown): `queued` again without
    /// spending an attempt of its budget; a job being cancelled becomes `cancelled` instead.
    public func requeue(_ lease: Lease, reason: String, now: Int) throws -> Job {
        try endLease(lease, action: .requeue, from: [.running, .cancelling], assignments: """
            attempt_offset = attempt_offset + (status = 'running'),
            finished_at = iif(status = 'cancelling', ?, NULL),
            status = iif(status = 'cancelling', 'cancelled', 'queued')
            """, arguments: [.integer(now)],
            event: NewEvent(jobID: lease.jobID, type: "requeued", message: "attempt \(lease.attempt) handed back: \(reason)"),
            now: now)
    }

    /// The worker stopped after a `.cancelRequested` heartbeat: `cancelling` → `cancelled`.
    public func confirmCancelled(_ lease: Lease, now: Int) throws -> Job {
        try endLease(lease, action: .confirmCancellation, from: [.cancelling],
                     assignments: "status = 'cancelled', finished_at = ?", arguments: [.integer(now)],
                     event: NewEvent(jobID: lease.jobID, type: "cancelled", message: "worker stopped; job cancelled"),
                     now: now)
    }

    /// Ends a lease: checks the token and the status, applies `assignments` and clears the lease.
    private func endLease(_ lease: Lease, action: TransitionAction, from allowed: Set<JobStatus>, assignments: String,
                          arguments: [SQLiteValue?], event: NewEvent, now: Int) throws -> Job {
        let status = try fence(lease)
        guard allowed.contains(status) else {
            throw JobStoreError.illegalTransition(.job, id: lease.jobID, status: status.rawValue, action: action)
        }
        try connection.run("""
            UPDATE jobs SET \(assignments),
                   lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, instance_id = NULL
            WHERE id = ?
            """, arguments + [.text(lease.jobID)])
        try insertEvent(event, now: now)
        return try job(id: lease.jobID)
    }

    /// Cancels a job: `queued` → `cancelled` at once; `running` → `cancelling` (its worker sees it
    /// on the next heartbeat and confirms); `cancelling` stays. Terminal jobs throw `illegalTransition`.
    public func cancelJob(id: String, now: Int) throws -> Job {
        let current = try job(id: id)
        switch current.status {
        case .queued:
            try connection.run("UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE id = ?",
                               [.integer(now), .text(id)])
            try insertEvent(NewEvent(jobID: id, type: "cancelled", message: "cancelled before it started"), now: now)
        case .running:
            try connection.run("UPDATE jobs SET status = 'cancelling' WHERE id = ?", [.text(id)])
            try insertEvent(NewEvent(jobID: id, type: "cancel_requested", message: "cancel requested; waiting for the worker"),
                            now: now)
        case .cancelling:
            return current
        case .succeeded, .failed, .cancelled:
            throw JobStoreError.illegalTransition(.job, id: id, status: current.status.rawValue, action: .cancel)
        }
        return try job(id: id)
    }

    /// Re-queues a `failed` or `cancelled` job with a fresh attempt budget, clearing its error,
    /// result and progress (metric history is kept). Reactivates its sweep if that was cancelled,
    /// so the job can be claimed. Other statuses throw `illegalTransition`.
    public func retryJob(id: String, fromScratch: Bool = false, now: Int) throws -> Job {
        let current = try job(id: id)
        guard current.status == .failed || current.status == .cancelled else {
            throw JobStoreError.illegalTransition(.job, id: id, status: current.status.rawValue, action: .retry)
        }
        try connection.run("UPDATE jobs SET \(Self.requeueForRetry) WHERE id = ?", [.text(id)])
        if fromScratch { try discardHistory(ofJobs: [id]) }
        if let sweepID = current.sweepID {
            try connection.run("UPDATE sweeps SET state = 'active', updated_at = ? WHERE id = ? AND state = 'cancelled'",
                               [.integer(now), .text(sweepID)])
        }
        try insertEvent(NewEvent(jobID: id, type: "retried",
                                 message: "re-queued by retry after \(current.status.rawValue)" + (fromScratch ? ", from scratch" : "")),
                        now: now)
        return try job(id: id)
    }

    /// A retry from scratch: the jobs' curves, gates and checkpoint rows go, and `start_fresh` tells
    /// the next worker to delete the old checkpoint files before training.
    func discardHistory(ofJobs ids: [String]) throws {
        for id in ids {
            for table in ["metrics", "gates", "checkpoints"] {
                try connection.run("DELETE FROM \(table) WHERE job_id = ?", [.text(id)])
            }
            try connection.run("""
                UPDATE jobs SET start_fresh = 1, best_checkpoint_id = NULL, best_metric_name = NULL,
                       best_metric_value = NULL WHERE id = ?
                """, [.text(id)])
        }
    }

    /// The worker discarded the old checkpoint files of a job retried from scratch.
    public func markStartedFresh(_ lease: Lease) throws {
        _ = try fence(lease)
        try connection.run("UPDATE jobs SET start_fresh = 0 WHERE id = ?", [.text(lease.jobID)])
    }

    /// The assignments that put a failed or cancelled job back in the queue.
    static let requeueForRetry = """
        status = 'queued', attempt_offset = attempt, finished_at = NULL, result = NULL,
        error_code = NULL, error_message = NULL, progress_step = NULL, progress_total_steps = NULL,
        progress_epoch = NULL, progress_eta_seconds = NULL
        """
}
