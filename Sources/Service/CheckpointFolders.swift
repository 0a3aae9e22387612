import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HTTP
import JobStore
import Training

/// The checkpoint root: one folder per job, named by the job id. Rows about a job are deleted before its
/// folder, so the only leftovers a crash can make are folders no job row names, and files in a job's
/// folder that nothing names (an upload cut off mid-body, a checkpoint half written, a version whose row
/// never committed); `removeOrphans` clears both at start.
///
/// In a job's folder, `<name>.safetensors` (`best`, `last`) is the newest version, which an attempt in this
/// process resumes from, and every recorded row names a file of its own that never changes under it.
public struct CheckpointFolders: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    public func directory(jobID: String) -> String { "\(root)/\(jobID)" }

    public func path(jobID: String, name: String) -> String { "\(directory(jobID: jobID))/\(name).safetensors" }

    /// A file of its own for the version the trainer just wrote in place: a hard link (a copy where links
    /// are not possible), so a download always matches its recorded SHA-256.
    func snapshot(_ record: CheckpointRecord, jobID: String, attempt: Int) throws -> String {
        let snapshot = newVersionPath(jobID: jobID, name: record.name, step: record.step, attempt: attempt)
        do { try FileManager.default.linkItem(atPath: record.path, toPath: snapshot) } catch {
            try FileManager.default.copyItem(atPath: record.path, toPath: snapshot)
        }
        return snapshot
    }

    /// A new name for one recorded version of a checkpoint (a snapshot, or an upload once whole and checked).
    /// Attempt and step say what it is, and a random part keeps it unique: the same step can be written again
    /// with other content (a `last` written before and after an evaluation, a resumed attempt redoing a
    /// step, a retried upload), and no file a row names may change under it.
    func newVersionPath(jobID: String, name: String, step: Int, attempt: Int) -> String {
        let unique = UUID().uuidString.lowercased().prefix(8)
        return "\(directory(jobID: jobID))/\(name)-a\(attempt)-step\(step)-\(unique).safetensors"
    }

    /// Makes `<name>.safetensors` the file at `path` (atomically: a link beside it renamed over it).
    func link(_ path: String, as name: String, jobID: String) throws {
        let target = self.path(jobID: jobID, name: name)
        if Self.sameFile(path, target) { return }
        let temporary = "\(target).\(UUID().uuidString).tmp"
        try FileManager.default.linkItem(atPath: path, toPath: temporary)
        guard rename(temporary, target) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw CheckpointUploadError.unwritable(path: target, reason: reason)
        }
    }

    private static func sameFile(_ first: String, _ second: String) -> Bool {
        var a = stat(), b = stat()
        return stat(first, &a) == 0 && stat(second, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev
    }

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
    /// In the other folders it keeps the files checkpoint rows name, each recorded name's `<name>.safetensors`,
    /// and for an unfinished job `best`/`last` (what its next attempt resumes from), and removes the rest, which
    /// a crash left unfinished or unrecorded (such as the `last` of a job that finished without keeping it).
    /// Call it before the server and the workers start, while nothing writes there.
    public func removeOrphans(store: JobStore) throws -> [String] {
        let folders = jobFolders()
        let existing = try store.read { try $0.sweepIDs(ofJobs: folders) }
        let orphans = folders.filter { existing[$0] == nil }
        try remove(jobIDs: orphans)
        for folder in folders where existing[folder] != nil {
            let (checkpoints, job) = try store.read { (try $0.checkpoints(jobID: folder), try $0.job(id: folder)) }
            let links = Set(checkpoints.map(\.name)).union(job.status.isTerminal ? [] : ["best", "last"])
            let kept = Set(checkpoints.map { ($0.path as NSString).lastPathComponent } + links.map { "\($0).safetensors" })
            let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(folder)")) ?? []
            for name in names where !kept.contains(name) {
                try FileManager.default.removeItem(atPath: "\(root)/\(folder)/\(name)")
            }
        }
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

/// Why an uploaded checkpoint was refused; nothing is stored.
enum CheckpointUploadError: Error, CustomStringConvertible {
    case checksumMismatch(declared: String, actual: String)
    case unwritable(path: String, reason: String)

    var description: String {
        switch self {
        case let .checksumMismatch(declared, actual):
            return "the uploaded checkpoint's SHA-256 is \(actual), not the declared \(declared)"
        case let .unwritable(path, reason): return "cannot write the checkpoint file \(path): \(reason)"
        }
    }
}
