extension StoreReader {
    /// Events of type `opening` that no event of type `closing` on the same job answers, oldest first. An
    /// answer has the same values as the opening event at each of `dataPaths` (JSON paths such as
    /// `$.attempt`) of its data. E.g. the Slurm tasks that claimed a job and have no recorded end yet. Read
    /// whole each time rather than followed by event number, since SQLite reuses the numbers of deleted
    /// newest events.
    public func unansweredEvents(ofType opening: String, answeredBy closing: String, matching dataPaths: [String])
        throws -> [JobEvent] {
        let (sql, arguments) = Self.unansweredEventsQuery(opening, closing, dataPaths)
        return try connection.query(sql, arguments) { JobEvent(row: $0) }
    }

    static func unansweredEventsQuery(_ opening: String, _ closing: String, _ dataPaths: [String])
        -> (sql: String, arguments: [SQLiteValue?]) {
        let sameData = dataPaths.map { _ in " AND json_extract(answer.data, ?) IS json_extract(event.data, ?)" }.joined()
        return ("""
            SELECT \(JobEvent.columns) FROM events AS event WHERE event.type = ? AND NOT EXISTS (
                SELECT 1 FROM events AS answer WHERE answer.job_id = event.job_id AND answer.type = ?\(sameData))
            ORDER BY event.seq
            """, [.text(opening), .text(closing)] + dataPaths.flatMap { [.text($0), .text($0)] })
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
