import XCTest
import Glibc
@testable import Service

/// The notify protocol against a datagram socket the test binds itself (no systemd needed).
final class SystemdNotifierTests: XCTestCase {
    private func temporarySocketPath(_ tag: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(tag)-\(getpid())-\(UUID().uuidString.prefix(8))").path
    }

    func testMessagesArriveOnPathSocket() throws {
        let socket = try DatagramSocket(temporarySocketPath("path"))
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.name, "WATCHDOG_USEC": "2000000"])
        XCTAssertTrue(notifier.isEnabled)
        XCTAssertEqual(notifier.watchdogInterval!, 2.0 / 3, accuracy: 1e-9)
        notifier.ready(status: "listening on 127.0.0.1:8080")
        notifier.watchdog()
        notifier.stopping()
        notifier.extendTimeout(seconds: 30)
        XCTAssertEqual(socket.receive(timeout: 2), "READY=1\nSTATUS=listening on 127.0.0.1:8080")
        XCTAssertEqual(socket.receive(timeout: 2), "WATCHDOG=1")
        XCTAssertEqual(socket.receive(timeout: 2), "STOPPING=1")
        XCTAssertEqual(socket.receive(timeout: 2), "EXTEND_TIMEOUT_USEC=30000000")
    }

    func testAbstractNamespaceSocket() throws {
        let socket = try DatagramSocket("@unipelt-test-\(getpid())-\(UUID().uuidString.prefix(8))")
        SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.name]).ready(status: "ok")
        XCTAssertEqual(socket.receive(timeout: 2), "READY=1\nSTATUS=ok")
    }

    /// A receiver that never reads must not block the service: once its queue is full, messages drop.
    func testAFullReceiverQueueNeverBlocksTheSender() throws {
        let socket = try DatagramSocket(temporarySocketPath("full"))
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.name])
        let done = expectation(description: "10,000 sends return")
        Thread {
            for _ in 0..<10_000 { notifier.watchdog() }
            done.fulfill()
        }.start()
        // The receiver stays bound (and never reads) until every send returned.
        withExtendedLifetime(socket) { wait(for: [done], timeout: 30) }
    }

    /// The watchdog: no ping once the HTTP loop has been quiet for a ping interval (at least 1 s), or with the worker
    /// pool gone, or before the server runs.
    func testWatchdogPingsOnlyWhileTheLoopTurnsAndWorkersRun() {
        XCTAssertTrue(WatchdogCheck.healthy(workersRunning: true, secondsSinceLoopTurn: 0.2, pingInterval: 0.67))
        XCTAssertTrue(WatchdogCheck.healthy(workersRunning: true, secondsSinceLoopTurn: 4, pingInterval: 10))
        XCTAssertFalse(WatchdogCheck.healthy(workersRunning: true, secondsSinceLoopTurn: 1.5, pingInterval: 0.67))
        XCTAssertFalse(WatchdogCheck.healthy(workersRunning: true, secondsSinceLoopTurn: 11, pingInterval: 10))
        XCTAssertFalse(WatchdogCheck.healthy(workersRunning: false, secondsSinceLoopTurn: 0.2, pingInterval: 0.67))
        XCTAssertFalse(WatchdogCheck.healthy(workersRunning: true, secondsSinceLoopTurn: nil, pingInterval: 0.67))
    }

    func testWithoutNotifySocketEverythingIsANoOp() {
        let notifier = SystemdNotifier(environment: [:])
        XCTAssertFalse(notifier.isEnabled)
        XCTAssertNil(notifier.watchdogInterval)
        notifier.ready(status: "x")
        notifier.stopping()
        XCTAssertFalse(SystemdNotifier(environment: ["NOTIFY_SOCKET": "relative/path"]).isEnabled)
    }
}
