import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One finished request, as written to the access log.
public struct AccessLogEntry: Sendable, Equatable {
    public let method: String
    public let path: String
    public let status: Int
    /// Body bytes written to the client.
    public let bytes: Int
    public let duration: TimeInterval
    public let requestID: String
}

/// Where the server reports requests and failures; injected so tests can capture lines and the Service can
/// route them to its own logging.
public protocol ServerLog: Sendable {
    func access(_ entry: AccessLogEntry)
    /// A handler error that was not `HTTPErrorConvertible` (answered as a 500), or a server-level failure.
    func failure(_ message: String, requestID: String?)
}

/// Writes one line per event to standard error.
public struct StandardErrorLog: ServerLog {
    public init() {}

    public func access(_ entry: AccessLogEntry) {
        let milliseconds = String(format: "%.3f", entry.duration * 1000)
        write("method=\(entry.method) path=\(entry.path) status=\(entry.status) bytes=\(entry.bytes) "
              + "duration_ms=\(milliseconds) request_id=\(entry.requestID)\n")
    }

    public func failure(_ message: String, requestID: String?) {
        write("error request_id=\(requestID ?? "-") \(message)\n")
    }

    private func write(_ line: String) {
        // stdio locks the stream, so concurrent lines do not interleave.
        fputs(line, stderr)
    }
}
