import XCTest
@testable import HTTP
import TestSupport

/// Ownership and deadline rules of the connection registry, on a manual clock: each member is its own id,
/// and time moves only by `clock.advance`.
final class ConnectionRegistryTests: XCTestCase {
    private let clock = ManualClock()

    private func registry(_ adjust: (inout Limits) -> Void = { _ in }) -> ConnectionRegistry<UInt64> {
        var limits = Limits()
        limits.headerTimeout = 10
        limits.bodyTimeout = 30
        limits.idleTimeout = 60
        limits.lingerTimeout = 1
        adjust(&limits)
        return ConnectionRegistry(limits: limits, clock: clock)
    }

    private struct NotServed: Error {}

    /// Admits a connection and takes it as a readable socket would, so the caller owns it.
    private func busy(_ registry: inout ConnectionRegistry<UInt64>) throws -> UInt64 {
        let id = try XCTUnwrap(registry.admit { $0 })
        guard case .serve(id) = registry.takeReadable(id) else { throw NotServed() }
        return id
    }

    private func expiredIDs(_ registry: inout ConnectionRegistry<UInt64>) -> [UInt64: Expiry] {
        Dictionary(uniqueKeysWithValues: registry.expire().expired)
    }

    func testNewConnectionIsHeldToTheIdleTimeout() throws {
        var registry = registry()
        let id = try XCTUnwrap(registry.admit { $0 })
        clock.advance(by: 59)
        XCTAssertTrue(expiredIDs(&registry).isEmpty)
        clock.advance(by: 1)
        XCTAssertEqual(expiredIDs(&registry), [id: .close])
        // Expired means taken: the caller owns it now, so neither a late readable event nor the next check touches it.
        guard case .notWaiting = registry.takeReadable(id) else { return XCTFail("an expired connection was served") }
        clock.advance(by: 100)
        XCTAssertTrue(expiredIDs(&registry).isEmpty)
    }

    func testReadableConnectionIsServedByOneOwnerAndNeverExpiresWhileBusy() throws {
        var registry = registry()
        let id = try busy(&registry)
        guard case .notWaiting = registry.takeReadable(id) else { return XCTFail("a busy connection was taken twice") }
        clock.advance(by: 1000)
        XCTAssertTrue(expiredIDs(&registry).isEmpty)
        XCTAssertFalse(registry.isEmpty)
        registry.remove(id)
        XCTAssertTrue(registry.isEmpty)
    }

    func testRequestDeadlineAnswers408() throws {
        var registry = registry()
        let id = try busy(&registry)
        XCTAssertTrue(registry.arm(id, deadline: clock.now + 10, expiry: .requestTimeout))
        XCTAssertEqual(registry.takeNewlyWaiting(), [id])
        clock.advance(by: 9.5)
        XCTAssertTrue(expiredIDs(&registry).isEmpty)
        clock.advance(by: 0.5)
        XCTAssertEqual(expiredIDs(&registry), [id: .requestTimeout])
    }

    func testLingeringConnectionDrainsUntilTheLingerTimeout() throws {
        var registry = registry()
        let id = try busy(&registry)
        XCTAssertTrue(registry.linger(id))
        // Client bytes are drained without taking the connection.
        guard case .drain(id) = registry.takeReadable(id) else { return XCTFail("lingering bytes were not drained") }
        guard case .drain(id) = registry.takeReadable(id) else { return XCTFail("draining took the connection") }
        clock.advance(by: 0.5)
        XCTAssertTrue(expiredIDs(&registry).isEmpty)
        clock.advance(by: 0.5)
        XCTAssertEqual(expiredIDs(&registry), [id: .close])
    }

    func testAdmissionStopsWhenFullOrShuttingDown() throws {
        var registry = registry { $0.maxConnections = 2 }
        let first = try XCTUnwrap(registry.admit { $0 })
        XCTAssertNotNil(registry.admit { $0 })
        var made = 0
        XCTAssertNil(registry.admit { id in made += 1; return id })
        XCTAssertEqual(made, 0, "a refused connection is never made")
        registry.remove(first)
        let third = try XCTUnwrap(registry.admit { $0 })
        registry.remove(third)
        registry.beginShutdown()
        XCTAssertNil(registry.admit { $0 })
    }

    func testShutdownClosesIdleConnectionsAtOnceAndLetsRequestsFinish() throws {
        var registry = registry()
        let idle = try XCTUnwrap(registry.admit { $0 })
        let reading = try busy(&registry)
        XCTAssertTrue(registry.arm(reading, deadline: clock.now + 10, expiry: .requestTimeout))
        let handling = try busy(&registry)
        registry.beginShutdown()
        XCTAssertEqual(expiredIDs(&registry), [idle: .close])
        XCTAssertFalse(registry.arm(handling, deadline: clock.now + 60, expiry: .close), "kept alive during shutdown")
        XCTAssertTrue(registry.arm(handling, deadline: clock.now + 10, expiry: .requestTimeout))
        clock.advance(by: 10)
        XCTAssertEqual(expiredIDs(&registry), [reading: .requestTimeout, handling: .requestTimeout])
        XCTAssertTrue(registry.linger(reading))
    }

    func testStoppedRegistryTakesNothingBack() throws {
        var registry = registry()
        let waiting = try XCTUnwrap(registry.admit { $0 })
        let handling = try busy(&registry)
        registry.stop()
        XCTAssertFalse(registry.arm(handling, deadline: clock.now + 10, expiry: .requestTimeout))
        XCTAssertFalse(registry.linger(handling))
        XCTAssertEqual(registry.removeWaiting(), [waiting])
        XCTAssertEqual(registry.members, [handling], "a busy connection is closed by its owner")
    }

    func testIdleConnectionsCoolAfterTheCoolingDelay() throws {
        var registry = registry()
        let idle = try XCTUnwrap(registry.admit { $0 })
        let reading = try busy(&registry)
        XCTAssertTrue(registry.arm(reading, deadline: clock.now + 10, expiry: .requestTimeout))
        clock.advance(by: ConnectionRegistry<UInt64>.coolingDelay / 2)
        XCTAssertEqual(registry.expire().cooled, [])
        clock.advance(by: ConnectionRegistry<UInt64>.coolingDelay)
        XCTAssertEqual(registry.expire().cooled, [idle], "only idle keep-alive connections cool")
    }

    func testNewlyWaitingSkipsConnectionsThatLeftSinceTheyWereQueued() throws {
        var registry = registry()
        let served = try busy(&registry)
        let closed = try busy(&registry)
        let kept = try busy(&registry)
        for id in [served, closed, kept] { XCTAssertTrue(registry.arm(id, deadline: clock.now + 60, expiry: .close)) }
        guard case .serve(served) = registry.takeReadable(served) else { return XCTFail("an armed connection was not served") }
        registry.remove(closed)
        XCTAssertEqual(registry.takeNewlyWaiting(), [kept])
        XCTAssertEqual(registry.takeNewlyWaiting(), [])
    }
}
