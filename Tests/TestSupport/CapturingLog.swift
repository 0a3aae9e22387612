import Foundation
import HTTP

/// A server log that keeps its access-log entries and failures for assertions.
public final class CapturingLog: ServerLog, @unchecked Sendable {
    private let lock = NSCondition()
    private var _entries: [AccessLogEntry] = []
    private var _failures: [String] = []

    public init() {}

    public var entries: [AccessLogEntry] { lock.lock(); defer { lock.unlock() }; return _entries }
    public var failures: [String] { lock.lock(); defer { lock.unlock() }; return _failures }

    public func access(_ entry: AccessLogEntry) {
        lock.lock()
        _entries.append(entry)
        lock.broadcast()
        lock.unlock()
    }

    public func failure(_ message: String, requestID: String?) {
        lock.lock()
        _failures.append(message)
        lock.broadcast()
        lock.unlock()
    }

    /// Waits (bounded) until what has been logged satisfies `condition`; for lines written just after a
    /// response is read (the access log is written after the last byte goes out) or by the loop thread.
    @discardableResult
    public func wait(timeout: TimeInterval = 3,
                     until condition: (_ entries: [AccessLogEntry], _ failures: [String]) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        lock.lock()
        defer { lock.unlock() }
        while !condition(_entries, _failures) { if !lock.wait(until: deadline) { return false } }
        return true
    }
}
