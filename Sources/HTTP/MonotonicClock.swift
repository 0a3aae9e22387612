import Foundation

/// Where the server reads the time for deadlines, cold-slot polling and its loop heartbeat: seconds that
/// only move forward. Injected so tests can move time by hand instead of waiting for it.
protocol MonotonicClock: Sendable {
    var now: Double { get }
}

/// Seconds since boot, unaffected by changes to the wall clock.
struct UptimeClock: MonotonicClock {
    var now: Double { Double(DispatchTime.now().uptimeNanoseconds) / 1_000_000_000 }
}
