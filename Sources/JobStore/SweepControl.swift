// Sweep controls with W&B semantics: pause starts nothing new and lets
// running jobs finish; cancel stops running jobs and starts nothing new; retry re-queues only the
// cells that did not succeed.

extension StoreWriter {
    /// `active` → `paused`; pausing a paused sweep changes nothing. A cancelled sweep throws.
    public func pauseSweep(id: String, now: Int) throws -> Sweep {
        try setSweepState(id: id, to: .paused, action: .pause, now: now)
    }

    /// `paused` → `active`; resuming an active sweep changes nothing. A cancelled sweep throws.
    public func resumeSweep(id: String, now: Int) throws -> Sweep {
        try setSweepState(id: id, to: .active, action: .resume, now: now)
    }

    private func setSweepState(id: String, to state: SweepState, action: TransitionAction, now: Int) throws -> Sweep {
        let current = try sweep(id: id)
        guard current.state != .cancelled else {
            throw JobStoreError.illegalTransition(.sweep, id: id, status: current.status.rawValue, action: action)
        }
        if current.state == state { return current }
        try connection.run("UPDATE sweeps SET state = ?, updated_at = ? WHERE id = ?",
                           [.text(state.rawValue), .integer(now), .text(id)])
        return try sweep(id: id)
    }

    /// Cancels a sweep: its queued jobs become `cancelled`, its running jobs `cancelling`, and
    /// nothing more is claimed. Cancelling a sweep that is cancelling changes nothing; a sweep that
    /// is completed or cancelled throws `illegalTransition`.
    public func cancelSweep(id: String, now: Int) throws -> Sweep {
        let current = try sweep(id: id)
        switch current.status {
        case .cancelling:
            return current
        case .completed, .cancelled:
            throw JobStoreError.illegalTransition(.sweep, id: id, status: current.status.rawValue, action: .cancel)
        case .active, .paused:
            break
        }
        let cancelled = try connection.query("""
            UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE sweep_id = ? AND status = 'queued' RETURNING id
            """, [.integer(now), .text(id)]) { $0.text(0) }
        for jobID in cancelled {
            try insertEvent(NewEvent(jobID: jobID, type: "cancelled", message: "sweep cancelled before the job started"),
                            now: now)
        }
        let stopping = try connection.query("""
            UPDATE jobs SET status = 'cancelling' WHERE sweep_id = ? AND status = 'running' RETURNING id
            """, [.text(id)]) { $0.text(0) }
        for jobID in stopping {
            try insertEvent(NewEvent(jobID: jobID, type: "cancel_requested",
                                     message: "sweep cancelled; waiting for the worker"), now: now)
        }
        try connection.run("UPDATE sweeps SET state = 'cancelled', updated_at = ? WHERE id = ?",
                           [.integer(now), .text(id)])
        return try sweep(id: id)
    }

    /// Re-queues the sweep's jobs whose status is in `statuses` (only `failed` and `cancelled` can
    /// be retried; succeeded jobs are never touched) with a fresh attempt budget, and makes a
    /// cancelled sweep active again. Returns the sweep and the ids re-queued, in queue order. A sweep with a job
    /// still cancelling throws: that job would end cancelled after the retry and be left out of it.
    public func retrySweep(id: String, statuses: Set<JobStatus> = [.failed, .cancelled], fromScratch: Bool = false,
                           now: Int) throws -> (sweep: Sweep, retriedJobIDs: [String]) {
        precondition(!statuses.isEmpty && statuses.isSubset(of: [.failed, .cancelled]),
                     "only failed and cancelled jobs can be retried")
        let current = try sweep(id: id)
        guard current.status != .cancelling, (current.counts[.cancelling] ?? 0) == 0 else {
            throw JobStoreError.illegalTransition(.sweep, id: id, status: current.status.rawValue, action: .retry)
        }
        let statusList = statuses.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
        let retried = try connection.query("""
            UPDATE jobs SET \(Self.requeueForRetry) WHERE sweep_id = ? AND status IN (\(statusList))
            RETURNING id, seq
            """, [.text(id)]) { ($0.text(0), $0.int(1)) }
            .sorted { $0.1 < $1.1 }.map(\.0)
        if fromScratch { try discardHistory(ofJobs: retried) }
        for jobID in retried {
            try insertEvent(NewEvent(jobID: jobID, type: "retried",
                                     message: "re-queued by sweep retry" + (fromScratch ? ", from scratch" : "")), now: now)
        }
        try connection.run("UPDATE sweeps SET state = 'active', updated_at = ? WHERE id = ? AND state = 'cancelled'",
                           [.integer(now), .text(id)])
        return (try sweep(id: id), retried)
    }
}
