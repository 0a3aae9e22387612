import Foundation
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
}
