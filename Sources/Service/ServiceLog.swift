import Foundation

/// journald-friendly log lines on standard error: `level=info job=job_… message`. One `write` per line,
/// so concurrent lines never interleave.
public struct ServiceLog: Sendable {
    public let minimumLevel: Config.LogLevel

    public init(minimumLevel: Config.LogLevel) {
        self.minimumLevel = minimumLevel
    }

    private static let order: [Config.LogLevel] = [.debug, .info, .warning, .error]

    public func log(_ level: Config.LogLevel, _ message: String, job: String? = nil) {
        guard Self.order.firstIndex(of: level)! >= Self.order.firstIndex(of: minimumLevel)! else { return }
        let line = "level=\(level.rawValue)" + (job.map { " job=\($0)" } ?? "") + " \(message)\n"
        line.utf8CString.withUnsafeBufferPointer { buffer in
            _ = fputs(buffer.baseAddress!, stderr)
        }
    }

    public func debug(_ message: String, job: String? = nil) { log(.debug, message, job: job) }
    public func info(_ message: String, job: String? = nil) { log(.info, message, job: job) }
    public func warning(_ message: String, job: String? = nil) { log(.warning, message, job: job) }
    public func error(_ message: String, job: String? = nil) { log(.error, message, job: job) }
}
