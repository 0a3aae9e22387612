import Foundation
import HTTP
@testable import Service
import XCTest

/// An upload cut off by a crash of the service leaves its unfinished file in the job's folder; the next
/// start removes it and nothing else.
final class PartialUploadTests: APITestCase {
    func testUnfinishedUploadsAreRemovedAtStartAndCheckpointsKept() throws {
        let sweep = try createSweep(seeds: [1])
        let jobID = try XCTUnwrap((sweep["jobs"] as? [String: Any])?["first_id"] as? String)
        let folder = "\(checkpointRoot)/\(jobID)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let unfinished = try FileBodySink(directory: folder)
        try Array("half a checkpoint".utf8).withUnsafeBytes { try unfinished.write($0) }
        try Data("whole".utf8).write(to: URL(fileURLWithPath: "\(folder)/last.safetensors"))

        XCTAssertEqual(try CheckpointFolders(root: checkpointRoot).removeOrphans(store: store), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["last.safetensors"])
        unfinished.discard()
    }
}
