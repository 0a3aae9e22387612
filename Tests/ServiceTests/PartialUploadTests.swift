import Foundation
import HTTP
import JobStore
@testable import Service
import XCTest

/// A crash of the service leaves files in a job's folder that nothing names: an upload cut off mid-body, a
/// checkpoint half written, a version whose row never committed. The next start removes them, and keeps
/// what an attempt resumes from and every file a checkpoint row names.
final class PartialUploadTests: APITestCase {
    func testLeftoversAreRemovedAtStartAndCheckpointsKept() throws {
        let sweep = try createSweep(seeds: [1])
        let jobID = try XCTUnwrap((sweep["jobs"] as? [String: Any])?["first_id"] as? String)
        let folders = CheckpointFolders(root: checkpointRoot)
        let folder = folders.directory(jobID: jobID)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let unfinished = try FileBodySink(directory: folder)
        try Array("half a checkpoint".utf8).withUnsafeBytes { try unfinished.write($0) }
        let recorded = folders.newVersionPath(jobID: jobID, name: "best", step: 3, attempt: 1)
        for (name, text) in [("last.safetensors", "whole"), ("best.safetensors", "best"),
                             (".last.safetensors.tmp-42-7", "half written"),
                             ((recorded as NSString).lastPathComponent, "best"),
                             ((folders.newVersionPath(jobID: jobID, name: "last", step: 3, attempt: 1) as NSString)
                                .lastPathComponent, "unrecorded")] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: "\(folder)/\(name)"))
        }
        let lease = try XCTUnwrap(try store.write { try $0.claim(limit: 1, owner: "w", leaseSeconds: 60, now: 1) }.first).lease
        _ = try store.write {
            try $0.recordCheckpoint(lease, NewCheckpoint(name: "best", step: 3, path: recorded, bytes: 4, sha256: String(repeating: "a", count: 64)),
                                    isBest: true, now: 1)
        }

        XCTAssertEqual(try folders.removeOrphans(store: store), [])
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder)),
                       ["last.safetensors", "best.safetensors", (recorded as NSString).lastPathComponent])
        unfinished.discard()
        // Once the job has finished without a `last` row (a crash came between the finish and the file's
        // removal), its `last` holds disk for nothing.
        _ = try store.write { try $0.finish(lease, result: "{}", now: 2) }
        XCTAssertEqual(try folders.removeOrphans(store: store), [])
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder)),
                       ["best.safetensors", (recorded as NSString).lastPathComponent])
    }
}
