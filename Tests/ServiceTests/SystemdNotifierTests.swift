import XCTest
import Glibc
@testable import Service

/// The notify protocol against a datagram socket the test binds itself (no systemd needed).
final class SystemdNotifierTests: XCTestCase {
    /// Binds an AF_UNIX datagram socket at `name` (a path, or `@name` for the abstract namespace).
    private func bindDatagramSocket(_ name: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(name.utf8)
        if bytes[0] == UInt8(ascii: "@") { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let result = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno)!) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        addTeardownBlock { close(fd) }
        return fd
    }

    private func receive(_ fd: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
    }

    func testMessagesArriveOnPathSocket() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(getpid())-\(UUID().uuidString.prefix(8))").path
        let fd = try bindDatagramSocket(path)
        addTeardownBlock { unlink(path) }
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"])
        XCTAssertTrue(notifier.isEnabled)
        XCTAssertEqual(notifier.watchdogInterval!, 2.0 / 3, accuracy: 1e-9)
        notifier.ready(status: "listening on 127.0.0.1:8080")
        notifier.watchdog()
        notifier.stopping()
        notifier.extendTimeout(seconds: 30)
        XCTAssertEqual(receive(fd), "READY=1\nSTATUS=listening on 127.0.0.1:8080")
        XCTAssertEqual(receive(fd), "WATCHDOG=1")
        XCTAssertEqual(receive(fd), "STOPPING=1")
        XCTAssertEqual(receive(fd), "EXTEND_TIMEOUT_USEC=30000000")
    }

    func testAbstractNamespaceSocket() throws {
        let name = "@unipelt-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        let fd = try bindDatagramSocket(name)
        SystemdNotifier(environment: ["NOTIFY_SOCKET": name]).ready(status: "ok")
        XCTAssertEqual(receive(fd), "READY=1\nSTATUS=ok")
    }

    /// A receiver that never reads must not block the service: once its queue is full, messages drop.
    func testAFullReceiverQueueNeverBlocksTheSender() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-full-\(getpid())-\(UUID().uuidString.prefix(8))").path
        _ = try bindDatagramSocket(path)
        addTeardownBlock { unlink(path) }
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": path])
        let done = expectation(description: "10,000 sends return")
        Thread {
            for _ in 0..<10_000 { notifier.watchdog() }
            done.fulfill()
        }.start()
        wait(for: [done], timeout: 30)
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
