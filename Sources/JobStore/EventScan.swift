extension StoreReader {
    /// Events of the given types across all jobs, oldest first, after the event numbered `afterSequence`
    /// (0: from the start), each with its own number; for a watcher that follows the log a page at a time.
    public func events(ofTypes types: [String], afterSequence: Int, limit: Int) throws
        -> [(sequence: Int, event: JobEvent)] {
        guard !types.isEmpty else { return [] }
        let placeholders = Array(repeating: "?", count: types.count).joined(separator: ", ")
        return try connection.query("""
            SELECT \(JobEvent.columns), seq FROM events WHERE seq > ? AND type IN (\(placeholders)) ORDER BY seq LIMIT ?
            """, [.integer(afterSequence)] + types.map { .text($0) } + [.integer(limit)]) { row in
            (sequence: row.int(7), event: JobEvent(row: row))
        }
    }
}

extension StoreReader {
    /// Events of one type on the given jobs, oldest first: what a job object shows of its history (the
    /// Slurm jobs it ran in) for a whole page of jobs in one query.
    public func events(ofType type: String, jobIDs: [String]) throws -> [JobEvent] {
        guard !jobIDs.isEmpty else { return [] }
        let placeholders = Array(repeating: "?", count: jobIDs.count).joined(separator: ", ")
        return try connection.query("""
            SELECT \(JobEvent.columns) FROM events WHERE type = ? AND job_id IN (\(placeholders)) ORDER BY seq
            """, [.text(type)] + jobIDs.map { .text($0) }) { JobEvent(row: $0) }
    }
}
