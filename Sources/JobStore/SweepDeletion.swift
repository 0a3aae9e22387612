// Deleting a sweep removes its rows in one transaction; the caller removes the jobs' checkpoint folders
// after the commit. Rows go first, so no row ever names a file that is gone; a crash between the commit
// and the file removal leaves folders that no job row names, which `sweepIDs(ofJobs:)` lets the service
// find and remove at its next start.

extension StoreWriter {
    /// Deletes the sweep, its jobs and everything recorded about them (events, curves, gates, checkpoint
    /// rows). A sweep with a running or cancelling job throws `illegalTransition`: its worker still
    /// writes files and rows. Returns the deleted job ids, whose checkpoint folders the caller removes.
    public func deleteSweep(id: String) throws -> [String] {
        _ = try sweep(id: id)
        let busy = try connection.queryOne("""
            SELECT count(*) FROM jobs WHERE sweep_id = ? AND status IN ('running', 'cancelling')
            """, [.text(id)]) { $0.int(0) } ?? 0
        guard busy == 0 else {
            throw JobStoreError.illegalTransition(.sweep, id: id, status: "running \(busy) job(s)", action: .delete)
        }
        let jobIDs = try connection.query("SELECT id FROM jobs WHERE sweep_id = ? ORDER BY seq", [.text(id)]) { $0.text(0) }
        for table in ["events", "metrics", "gates", "checkpoints"] {
            try connection.run("DELETE FROM \(table) WHERE job_id IN (SELECT id FROM jobs WHERE sweep_id = ?)", [.text(id)])
        }
        try connection.run("DELETE FROM jobs WHERE sweep_id = ?", [.text(id)])
        try connection.run("DELETE FROM sweeps WHERE id = ?", [.text(id)])
        return jobIDs
    }
}

extension StoreReader {
    /// Job id → its sweep id (nil for a job created alone), for the jobs among `ids` that exist.
    public func sweepIDs(ofJobs ids: [String]) throws -> [String: String?] {
        var sweeps: [String: String?] = [:]
        for id in ids {
            if let row = try connection.queryOne("SELECT sweep_id FROM jobs WHERE id = ?", [.text(id)], { $0.optionalText(0) }) {
                sweeps[id] = row
            }
        }
        return sweeps
    }
}
