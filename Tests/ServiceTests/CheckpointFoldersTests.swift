import Foundation
import JobStore
@testable import Service
import TestSupport
@testable import Training
import XCTest

final class CheckpointFoldersTests: XCTestCase {
    /// Every recorded version of a checkpoint is a file of its own: writing the same step again (a `last`
    /// before and after an evaluation, a resumed attempt) never changes a file an earlier row names.
    func testVersionsOfTheSameStepAreFilesOfTheirOwn() throws {
        let root = try makeTemporaryDirectory("checkpoint-folders")
        let folders = CheckpointFolders(root: root.url.path)
        try FileManager.default.createDirectory(atPath: folders.directory(jobID: "job_1"), withIntermediateDirectories: true)
        let written = folders.path(jobID: "job_1", name: "last")
        func record() -> CheckpointRecord {
            CheckpointRecord(name: "last", path: written, bytes: 1, sha256: "", step: 7, metric: nil, reason: .periodic,
                             seconds: 0)
        }
        try Data("before".utf8).write(to: URL(fileURLWithPath: written))
        let first = try folders.snapshot(record(), jobID: "job_1", attempt: 1)
        // The trainer replaces the file (write, then rename over it), as it does for every checkpoint.
        try Data("after".utf8).write(to: URL(fileURLWithPath: written), options: .atomic)
        let second = try folders.snapshot(record(), jobID: "job_1", attempt: 1)
        XCTAssertNotEqual(first, second)
        XCTAssertEqual(FileManager.default.contents(atPath: first), Data("before".utf8))
        XCTAssertEqual(FileManager.default.contents(atPath: second), Data("after".utf8))
        XCTAssertTrue((first as NSString).lastPathComponent.hasPrefix("last-a1-step7-"), first)
    }

    /// A checkpoint whose row cannot be written (here: the lease is no longer this worker's) leaves no snapshot
    /// behind, since no row would ever name it.
    func testACheckpointThatIsNotRecordedLeavesNoSnapshot() throws {
        let root = try makeTemporaryDirectory("checkpoint-folders")
        let store = try JobStore(path: root.url.appendingPathComponent("db.sqlite3").path, now: 1)
        let job = try store.write {
            try $0.enqueueJob(NewJob(cellKey: "rte/K=16/seed=1/lora", task: "rte", k: .examples(16), seed: 1,
                                     method: "lora", spec: "{}"), now: 1)
        }
        let folders = CheckpointFolders(root: root.url.appendingPathComponent("checkpoints").path)
        try FileManager.default.createDirectory(atPath: folders.directory(jobID: job.id), withIntermediateDirectories: true)
        let written = folders.path(jobID: job.id, name: "last")
        try Data("state".utf8).write(to: URL(fileURLWithPath: written))
        let reporter = StoreReporter(lease: Lease(jobID: job.id, token: "not-the-lease", attempt: 1), store: store,
                                     files: folders, leaseSeconds: 60, keepLastCheckpoint: true, clock: { 2 })
        XCTAssertThrowsError(try reporter.recordCheckpoint(CheckpointRecord(
            name: "last", path: written, bytes: 5, sha256: "", step: 3, metric: nil, reason: .periodic, seconds: 0)))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folders.directory(jobID: job.id)),
                       ["last.safetensors"])
    }
}
