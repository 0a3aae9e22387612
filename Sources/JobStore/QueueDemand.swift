// What an external executor (Slurm) needs to size its workers: per sweep, the jobs waiting and running.

/// The unfinished jobs of one sweep (or of the jobs created alone, `sweepID` nil).
public struct QueueDemand: Equatable, Sendable {
    public let sweepID: String?
    /// Whether its jobs may be claimed: the sweep is active (jobs created alone always are).
    public let isActive: Bool
    public let queued: Int
    /// Running or cancelling.
    public let running: Int
    public let maxConcurrency: Int?

    public init(sweepID: String?, isActive: Bool, queued: Int, running: Int, maxConcurrency: Int?) {
        self.sweepID = sweepID
        self.isActive = isActive
        self.queued = queued
        self.running = running
        self.maxConcurrency = maxConcurrency
    }
}

extension StoreReader {
    /// Every sweep with a queued, running or cancelling job.
    public func queueDemand() throws -> [QueueDemand] {
        try connection.query("""
            SELECT j.sweep_id, coalesce(s.state, 'active') = 'active', s.max_concurrency,
                   sum(j.status = 'queued'), sum(j.status IN ('running', 'cancelling'))
            FROM jobs j LEFT JOIN sweeps s ON s.id = j.sweep_id
            WHERE j.status IN ('queued', 'running', 'cancelling')
            GROUP BY j.sweep_id ORDER BY min(j.seq)
            """) { row in
            QueueDemand(sweepID: row.optionalText(0), isActive: row.int(1) != 0, queued: row.int(3), running: row.int(4),
                        maxConcurrency: row.optionalInt(2))
        }
    }
}

extension StoreReader {
    /// The queued jobs of a sweep (nil: of the jobs created alone), in queue order.
    public func queuedJobIDs(sweepID: String?) throws -> [String] {
        try connection.query("""
            SELECT id FROM jobs WHERE status = 'queued' AND sweep_id IS ?
            ORDER BY created_at, expected_cost DESC, seq
            """, [.string(sweepID)]) { $0.text(0) }
    }
}
