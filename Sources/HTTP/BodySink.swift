import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a streamed request body goes, chunk by chunk as it arrives, instead of into memory. A route that
/// sets `RouteOptions.bodySink` makes one from the request's head before any body byte is read; the
/// handler finds it in `Request.bodySink`. The server calls `write` with the body in order, `finish` once
/// it is complete, and `discard` when the request ends: after the handler returned (a handler keeps
/// what it wants by moving it away first), or early (the client vanished, a timeout, bad framing, a
/// refused request), so a cut-off body leaves nothing behind.
public protocol BodySink: AnyObject, Sendable {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    func finish() throws
    /// Drops whatever is still held; called exactly once, also after `finish`.
    func discard()
}

/// A body written to a new file in a folder: created exclusively under a random hidden name, made durable
/// by `finish` (fsync), removed by `discard` unless `moveFile(to:)` took it.
public final class FileBodySink: BodySink, @unchecked Sendable {  // used by one connection at a time
    /// The file being written; it keeps this name until `moveFile(to:)`.
    public let path: String
    public private(set) var byteCount = 0
    private var descriptor: Int32
    private var moved = false

    /// Creates `<directory>/.body-<random>.part` (mode 0644 less the umask); the folder must exist.
    public init(directory: String) throws {
        path = "\(directory)/\(Self.prefix)\(UUID().uuidString.lowercased())\(Self.suffix)"
        descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw BodySinkError(operation: "create", path: path, systemError: errno) }
    }

    private static let prefix = ".body-", suffix = ".part"

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw BodySinkError(operation: "write", path: path, systemError: errno)
            }
            offset += written
        }
        byteCount += bytes.count
    }

    public func finish() throws {
        guard fsync(descriptor) == 0 else { throw BodySinkError(operation: "sync", path: path, systemError: errno) }
        closeDescriptor()
    }

    /// Renames the finished file to `destination` (same file system) and syncs the destination's folder, so
    /// the new name survives a crash. The sink no longer owns the file.
    public func moveFile(to destination: String) throws {
        guard rename(path, destination) == 0 else { throw BodySinkError(operation: "rename", path: destination, systemError: errno) }
        moved = true
        let folder = open((destination as NSString).deletingLastPathComponent, O_RDONLY | O_CLOEXEC)
        if folder >= 0 {
            fsync(folder)
            Glibc.close(folder)
        }
    }

    public func discard() {
        closeDescriptor()
        if !moved { unlink(path) }
        moved = true
    }

    private func closeDescriptor() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }
}

/// A file operation of a `FileBodySink` failed. The client learns only that the body
/// could not be stored (the path is the server's own); the server log has the rest.
public struct BodySinkError: HTTPErrorConvertible, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let systemError: Int32

    public var status: HTTPStatus { .internalServerError }
    public var errorType: String { "server_error" }
    public var code: String { "body_not_stored" }
    public var message: String { "the request body could not be stored" }
    public var description: String { "cannot \(operation) \(path): \(String(cString: strerror(systemError)))" }
}
