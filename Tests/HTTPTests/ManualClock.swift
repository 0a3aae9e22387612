import Foundation

/// A monotonic clock that moves only when the test says so: deadline and heartbeat tests advance it
/// instead of waiting for real time, and nothing expires behind their back. Safe to read from the
/// server's threads. Depends on Foundation only, so it can move into a test-support target shared by
/// several modules' tests, each of which conforms it to its module's clock protocol.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var seconds: Double

    /// Starts well above zero, like an uptime, so no deadline arithmetic leans on zero.
    init(now: Double = 1000) {
        seconds = now
    }

    var now: Double {
        lock.lock()
        defer { lock.unlock() }
        return seconds
    }

    func advance(by interval: Double) {
        precondition(interval >= 0, "a monotonic clock does not go back")
        lock.lock()
        seconds += interval
        lock.unlock()
    }
}
