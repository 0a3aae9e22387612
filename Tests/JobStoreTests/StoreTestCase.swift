import Foundation
import XCTest
@testable import JobStore
import TestSupport

/// A fresh database in a temporary directory per test, and a fixed clock.
class StoreTestCase: XCTestCase {
    /// Removed in `tearDownWithError`, after the store has closed its files.
    private var temporary: TemporaryDirectory!
    var directory: URL { temporary.url }
    var databasePath: String { directory.appendingPathComponent("test.sqlite3").path }
    var store: JobStore!
    let now = 1_700_000_000
    let lease = 60

    override func setUpWithError() throws {
        temporary = try TemporaryDirectory("jobstore")
        store = try JobStore(path: databasePath, now: now)
    }

    override func tearDownWithError() throws {
        store = nil
        temporary?.remove()
    }

    /// A grid cell as the service would build it.
    func newJob(task: String = "rte", k: KShot = .examples(100), seed: Int = 1, method: String = "unipelt-apl",
                variant: String = "", maxAttempts: Int = 3) -> NewJob {
        let key = "\(task)/K=\(k)/seed=\(seed)/\(method)" + (variant.isEmpty ? "" : "/\(variant)")
        return NewJob(cellKey: key, task: task, k: k, seed: seed, method: method, variant: variant,
                      spec: #"{"task":"\#(task)","k":"\#(k)","seed":\#(seed),"method":"\#(method)"}"#,
                      maxAttempts: maxAttempts)
    }

    /// A sweep over seeds 1…`seeds` of one cell.
    @discardableResult
    func createSweep(seeds: Int, maxConcurrency: Int? = nil, at time: Int? = nil, maxAttempts: Int = 3) throws -> CreatedSweep {
        try store.write {
            try $0.createSweep(NewSweep(name: "s", spec: #"{"seeds":\#(seeds)}"#, maxConcurrency: maxConcurrency),
                               jobs: (1...seeds).map { newJob(seed: $0, maxAttempts: maxAttempts) }, now: time ?? now)
        }
    }

    func claim(_ limit: Int = 1, owner: String = "w1", at time: Int? = nil) throws -> [ClaimedJob] {
        try store.write { try $0.claim(limit: limit, owner: owner, leaseSeconds: lease, now: time ?? now) }
    }

    func claimOne(owner: String = "w1", at time: Int? = nil) throws -> ClaimedJob {
        let claimed = try claim(1, owner: owner, at: time)
        XCTAssertEqual(claimed.count, 1)
        return try XCTUnwrap(claimed.first)
    }

    func job(_ id: String) throws -> Job { try store.read { try $0.job(id: id) } }
    func sweep(_ id: String) throws -> Sweep { try store.read { try $0.sweep(id: id) } }

    /// Runs raw SQL on the writer connection (to set up states and check invariants).
    func sql(_ text: String) throws {
        try store.write { try $0.connection.execute(text) }
    }

    func assertThrows<T>(_ expected: JobStoreError, _ expression: @autoclosure () throws -> T,
                         file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            XCTAssertEqual(error as? JobStoreError, expected, file: file, line: line)
        }
    }
}

/// A value shared by test threads, guarded by a lock.
final class Locked<Value>: @unchecked Sendable {  // every access holds lock
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func mutate(_ body: (inout Value) -> Void) {
        lock.lock()
        body(&value)
        lock.unlock()
    }

    var current: Value {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
