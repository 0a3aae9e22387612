import Checksum
import HTTP

/// A streamed upload written to a file while its SHA-256 is computed, so a large checkpoint is checked
/// without being held in memory or read twice.
final class ChecksummedFileSink: BodySink, @unchecked Sendable {  // used by one connection at a time
    let file: FileBodySink
    private let declaredSHA256: String
    private var hasher = SHA256()

    /// A new file in `directory`, which must be on the file system the upload is installed on.
    init(directory: String, declaredSHA256: String) throws {
        file = try FileBodySink(directory: directory)
        self.declaredSHA256 = declaredSHA256.lowercased()
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bytes)
        try file.write(bytes)
    }

    func finish() throws { try file.finish() }

    func discard() { file.discard() }

    /// Renames the finished file to `path` if its SHA-256 is the declared one; otherwise it is refused, and
    /// the server discards it when the request ends.
    func install(as path: String) throws -> String {
        let actual = hasher.finalizeHex()
        guard actual == declaredSHA256 else {
            throw CheckpointUploadError.checksumMismatch(declared: declaredSHA256, actual: actual)
        }
        try file.moveFile(to: path)
        return path
    }
}
