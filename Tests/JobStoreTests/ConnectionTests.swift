import Foundation
import XCTest
@testable import JobStore

final class ConnectionTests: StoreTestCase {
    private func pragmas(_ reader: StoreReader) throws -> [String] {
        try ["journal_mode", "synchronous", "busy_timeout", "foreign_keys", "query_only"].map {
            try reader.connection.pragma($0)
        }
    }

    /// Every connection runs in WAL with synchronous=FULL, a busy timeout and foreign keys on.
    func testEveryConnectionHasTheConfiguredPragmas() throws {
        XCTAssertEqual(try store.write(pragmas), ["wal", "2", "5000", "1", "0"])
        XCTAssertEqual(try store.read(pragmas), ["wal", "2", "5000", "1", "1"])
    }

    func testSynchronousAndBusyTimeoutAreConfigurable() throws {
        let settings = ConnectionSettings(synchronous: .normal, busyTimeoutMilliseconds: 1234)
        store = try JobStore(path: databasePath, configuration: .init(connection: settings, readerCount: 1), now: now)
        XCTAssertEqual(try store.write(pragmas), ["wal", "1", "1234", "1", "0"])
        XCTAssertEqual(try store.read(pragmas), ["wal", "1", "1234", "1", "1"])
    }

    func testReadConnectionsRefuseWrites() throws {
        XCTAssertThrowsError(try store.read { try $0.connection.execute("DELETE FROM jobs") }) { error in
            guard case .sqlite(let failure)? = error as? JobStoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(failure.message.contains("readonly"), failure.message)
        }
    }

    func testErrorsCarrySQLiteMessageCodeAndSQL() throws {
        XCTAssertThrowsError(try store.read { try $0.connection.run("SELECT * FROM no_such_table") }) { error in
            guard case .sqlite(let failure)? = error as? JobStoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(failure.code, 1)  // SQLITE_ERROR
            XCTAssertEqual(failure.message, "no such table: no_such_table")
            XCTAssertEqual(failure.operation, "SELECT * FROM no_such_table")
            XCTAssertEqual((error as? JobStoreError)?.code, "database_error")
        }
    }

    func testAWriteThatThrowsLeavesNothingBehind() throws {
        struct Abort: Error {}
        XCTAssertThrowsError(try store.write { writer -> Void in
            _ = try writer.createSweep(NewSweep(name: "x", spec: "{}"), jobs: [newJob()], now: now)
            throw Abort()
        })
        XCTAssertEqual(try store.read { try $0.connection.queryOne("SELECT count(*) FROM jobs") { $0.int(0) } }, 0)
        XCTAssertEqual(try store.read { try $0.sweeps(limit: 10) }.items, [])
        // The writer is usable again: no transaction was left open.
        XCTAssertNoThrow(try createSweep(seeds: 1))
    }

    func testWritesSeeTheirOwnChangesAndReadersSeeCommittedOnes() throws {
        let created = try createSweep(seeds: 2)
        XCTAssertEqual(try sweep(created.sweep.id).jobCount, 2)
        try store.write { writer in
            _ = try writer.cancelJob(id: created.jobIDs[0], now: now)
            XCTAssertEqual(try writer.job(id: created.jobIDs[0]).status, .cancelled)
            XCTAssertEqual(try store.read { try $0.job(id: created.jobIDs[0]) }.status, .queued)
        }
        XCTAssertEqual(try job(created.jobIDs[0]).status, .cancelled)
    }

    /// One CHECK per invariant: each statement below breaks one and must be refused.
    func testSchemaChecksRejectImpossibleRows() throws {
        let created = try createSweep(seeds: 1)
        let id = created.jobIDs[0]
        let violations = [
            "UPDATE jobs SET status = 'paused' WHERE id = '\(id)'",
            "UPDATE jobs SET status = 'running' WHERE id = '\(id)'",  // running without a lease
            "UPDATE jobs SET status = 'succeeded' WHERE id = '\(id)'",  // terminal without finished_at
            "UPDATE jobs SET status = 'failed', finished_at = 1 WHERE id = '\(id)'",  // failed without error code
            "UPDATE jobs SET result = '{}' WHERE id = '\(id)'",  // result on a job that did not succeed
            "UPDATE jobs SET spec = 'not json' WHERE id = '\(id)'",
            "UPDATE jobs SET k = '0' WHERE id = '\(id)'",
            "UPDATE jobs SET k = '12a' WHERE id = '\(id)'",
            "UPDATE jobs SET attempt_offset = 1 WHERE id = '\(id)'",  // more offset than attempts
            "UPDATE jobs SET max_attempts = 0 WHERE id = '\(id)'",
            "UPDATE jobs SET best_metric_name = 'acc' WHERE id = '\(id)'",
            "UPDATE jobs SET sweep_id = 'swp_missing' WHERE id = '\(id)'",  // foreign key
            "UPDATE sweeps SET state = 'completed'",  // completed is derived, never stored
            "UPDATE sweeps SET max_concurrency = 0",
            "UPDATE sweeps SET metadata = '{'",
            "INSERT INTO metrics VALUES ('\(id)', 'loss', -1, 1, NULL, 0.5, 0)",
            "INSERT INTO gates VALUES ('\(id)', 1, 0, 'X', 1, 0.5)",
            "INSERT INTO events (id, job_id, level, type, message, created_at) VALUES ('evt_1', '\(id)', 'fatal', 't', 'm', 0)",
            "INSERT INTO checkpoints (id, job_id, name, step, path, bytes, sha256, created_at) VALUES ('ckpt_1', '\(id)', 'n', 1, 'p', 1, 'short', 0)",
            "INSERT INTO idempotency_keys (key, method, path, body_sha256, instance_id, response_status, created_at) VALUES ('k', 'POST', '/', 'h', '\(store.instanceID)', 201, 0)",
        ]
        for statement in violations {
            XCTAssertThrowsError(try sql(statement), statement) { error in
                guard case .sqlite(let failure)? = error as? JobStoreError else { return XCTFail("\(error)") }
                XCTAssertTrue(failure.isConstraintViolation, "\(statement): \(failure)")
            }
        }
        XCTAssertEqual(try job(id).status, .queued)
    }

    func testIDsArePrefixedAndDistinct() {
        let ids = (0..<1000).map { _ in newID("job") }
        XCTAssertEqual(Set(ids).count, 1000)
        XCTAssertTrue(ids.allSatisfy { $0.count == 28 && $0.hasPrefix("job_") })
    }
}
