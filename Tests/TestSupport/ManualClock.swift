import Foundation

/// A clock that moves only when the test says so: deadline, heartbeat and lease tests advance it instead of
/// waiting for real time, and nothing expires behind their back. Safe to read from a server's threads.
/// `Seconds` is the module's own time type (HTTP's monotonic `Double`, the store's epoch `Int`); each test
/// target conforms the clock to its module's clock protocol if it has one.
public final class ManualClock<Seconds: Numeric & Comparable & Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var seconds: Seconds

    public init(now: Seconds) {
        seconds = now
    }

    public var now: Seconds {
        lock.lock()
        defer { lock.unlock() }
        return seconds
    }

    public func advance(by interval: Seconds) {
        precondition(interval >= .zero, "a test clock does not go back")
        lock.lock()
        seconds += interval
        lock.unlock()
    }
}
