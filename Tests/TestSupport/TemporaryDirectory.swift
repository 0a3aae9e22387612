import Foundation
import XCTest

/// A fresh, empty directory under the system temporary folder, for one test's files. It is removed by
/// `remove()`, never by deinit: the optimiser may release a value after its last use, which can come
/// before the files in it are read.
public final class TemporaryDirectory {
    public let url: URL
    public var path: String { url.path }

    /// `prefix` names the directory (a unique suffix follows), so a leftover one says which tests made it.
    public init(_ prefix: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)",
                                                                            isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Deletes the directory and everything in it; safe to call twice.
    public func remove() {
        try? FileManager.default.removeItem(at: url)
    }

    /// Writes `bytes` to `relativePath`, creating folders.
    @discardableResult
    public func write(_ relativePath: String, _ bytes: [UInt8]) throws -> URL {
        let file = url.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: file)
        return file
    }

    @discardableResult
    public func write(_ relativePath: String, _ text: String) throws -> URL {
        try write(relativePath, Array(text.utf8))
    }
}

extension XCTestCase {
    /// A `TemporaryDirectory` removed when the running test ends. Teardown blocks run before `tearDown`, so a
    /// fixture that must close files in the directory first (a database, a server) removes it in `tearDown`.
    public func makeTemporaryDirectory(_ prefix: String) throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory(prefix)
        addTeardownBlock { directory.remove() }
        return directory
    }
}
