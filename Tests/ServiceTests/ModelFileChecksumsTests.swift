import Checksum
import Foundation
@testable import Service
import XCTest

/// Model file checksums are computed once per version of a file, and again when the file changes.
final class ModelFileChecksumsTests: XCTestCase {
    func testAFileIsHashedOnceUntilItChanges() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("unipelt-checksums-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("model.safetensors").path
        try Data("weights v1".utf8).write(to: URL(fileURLWithPath: path))
        let checksums = ModelFileChecksums()

        XCTAssertEqual(try checksums.sha256(ofFileAt: path), SHA256.hex(Data("weights v1".utf8)))
        XCTAssertEqual(try checksums.sha256(ofFileAt: path), SHA256.hex(Data("weights v1".utf8)))
        XCTAssertEqual(checksums.computed, 1, "the second answer came from the cache")

        // Same size, rewritten in place with a later modification time.
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        try handle.write(contentsOf: Data("weights v2".utf8))
        try handle.close()
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: path)
        XCTAssertEqual(try checksums.sha256(ofFileAt: path), SHA256.hex(Data("weights v2".utf8)))

        // Replaced by another file under the same name (another inode).
        let replacement = folder.appendingPathComponent("new").path
        try Data("weights v3, longer".utf8).write(to: URL(fileURLWithPath: replacement))
        XCTAssertEqual(rename(replacement, path), 0)
        XCTAssertEqual(try checksums.sha256(ofFileAt: path), SHA256.hex(Data("weights v3, longer".utf8)))
        XCTAssertEqual(checksums.computed, 3)

        XCTAssertThrowsError(try checksums.sha256(ofFileAt: folder.appendingPathComponent("missing").path))
    }
}
