import Foundation
import JobStore

/// The checkpoint root: one folder per job, named by the job id. Rows about a job are deleted before its
/// folder, so the only leftovers a crash can make are folders no job row names; `removeOrphans` clears
/// them at start.
public struct CheckpointFolders: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    /// Folders named like a job id.
    func jobFolders() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasPrefix("job_") }.sorted()
    }

    /// Removes the folders of deleted jobs; a folder that is already gone is fine.
    func remove(jobIDs: [String]) throws {
        for id in jobIDs where FileManager.default.fileExists(atPath: "\(root)/\(id)") {
            try FileManager.default.removeItem(atPath: "\(root)/\(id)")
        }
    }

    /// Removes the folders of jobs that have no row (a deletion interrupted after its commit) and returns
    /// their ids. Jobs get their row before any file, so a folder without a row is never a job's in progress.
    public func removeOrphans(store: JobStore) throws -> [String] {
        let folders = jobFolders()
        let existing = try store.read { try $0.sweepIDs(ofJobs: folders) }
        let orphans = folders.filter { existing[$0] == nil }
        try remove(jobIDs: orphans)
        return orphans
    }

    /// Bytes on disk per sweep id (jobs created alone under nil), from the files in the job folders.
    func usage(store: JobStore) throws -> (bySweep: [String?: Int], jobCounts: [String?: Int]) {
        let folders = jobFolders()
        let sweeps = try store.read { try $0.sweepIDs(ofJobs: folders) }
        var bytes: [String?: Int] = [:]
        var jobs: [String?: Int] = [:]
        for folder in folders {
            guard let sweep = sweeps[folder] else { continue }
            bytes[sweep, default: 0] += DiskUsage.bytes(under: "\(root)/\(folder)")
            jobs[sweep, default: 0] += 1
        }
        return (bytes, jobs)
    }
}
