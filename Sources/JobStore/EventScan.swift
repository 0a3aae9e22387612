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
