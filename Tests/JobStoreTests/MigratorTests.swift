import Foundation
import XCTest
@testable import JobStore

final class MigratorTests: StoreTestCase {
    /// The SQL compiled into the binary is exactly migrations/*.sql (rerun migrations/embed.sh if not).
    func testEmbeddedMigrationsEqualTheFiles() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../migrations").standardizedFileURL
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        XCTAssertFalse(files.isEmpty)
        XCTAssertEqual(embeddedMigrations.map(\.file), files, "run migrations/embed.sh")
        for (file, sql) in embeddedMigrations {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            XCTAssertEqual(sql, text, "\(file) differs from EmbeddedMigrations.swift: run migrations/embed.sh")
        }
    }

    func testFreshDatabaseIsAtTheLatestVersionAndMigratingAgainIsANoOp() throws {
        let latest = Migrator.embedded.latestVersion
        XCTAssertEqual(latest, embeddedMigrations.count)
        let version = try store.read { try $0.connection.pragma("user_version") }
        XCTAssertEqual(version, String(latest))
        let schemaBefore = try schema()
        let outcome = try JobStore.migrate(path: databasePath)
        XCTAssertEqual(outcome, Migrator.Outcome(fromVersion: latest, toVersion: latest, applied: []))
        XCTAssertEqual(try schema(), schemaBefore)
    }

    func testMigrateAppliesEveryMigrationInOrderOnAnEmptyFile() throws {
        let path = directory.appendingPathComponent("empty.sqlite3").path
        let outcome = try JobStore.migrate(path: path)
        XCTAssertEqual(outcome.fromVersion, 0)
        XCTAssertEqual(outcome.toVersion, Migrator.embedded.latestVersion)
        XCTAssertEqual(outcome.applied, embeddedMigrations.map { String($0.file.dropLast(4)) })
        XCTAssertEqual(try JobStore.migrate(path: path).applied, [])
    }

    func testNewerDatabaseIsRefusedWithoutChangingIt() throws {
        let newer = Migrator.embedded.latestVersion + 1
        try sql("PRAGMA user_version = \(newer)")
        store = nil
        let expected = JobStoreError.schemaTooNew(databaseVersion: newer, knownVersion: Migrator.embedded.latestVersion)
        assertThrows(expected, try JobStore(path: databasePath, now: now))
        assertThrows(expected, try JobStore(path: databasePath, configuration: .init(applyMigrations: false), now: now))
        assertThrows(expected, try JobStore.migrate(path: databasePath))
        XCTAssertTrue(expected.description.contains("newer than this binary knows"))
    }

    func testOpeningWithoutMigratingRefusesAnOutdatedDatabase() throws {
        let path = directory.appendingPathComponent("old.sqlite3").path
        let expected = JobStoreError.schemaOutOfDate(databaseVersion: 0, knownVersion: Migrator.embedded.latestVersion)
        assertThrows(expected, try JobStore(path: path, configuration: .init(applyMigrations: false), now: now))
    }

    func testAFailingMigrationRollsBackEntirely() throws {
        let path = directory.appendingPathComponent("partial.sqlite3").path
        let migrator = try Migrator(migrations: [
            Migration(file: "0001_a.sql", sql: "CREATE TABLE a (x);"),
            Migration(file: "0002_b.sql", sql: "CREATE TABLE b (x); CREATE TABLE a (y);"),
        ])
        let connection = try Connection(path: path, settings: ConnectionSettings(), queryOnly: false)
        XCTAssertThrowsError(try migrator.migrate(connection)) { error in
            guard case .sqlite(let failure)? = error as? JobStoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(failure.message.contains("table a already exists"), failure.message)
        }
        XCTAssertEqual(try migrator.version(of: connection), 1)
        let tables = try connection.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") { $0.text(0) }
        XCTAssertEqual(tables, ["a"])
    }

    func testMigrationNamesMustBeNumberedWithoutGaps() throws {
        assertThrows(.invalidMigrations("initial.sql is not named NNNN_name.sql"),
                     try Migration(file: "initial.sql", sql: ""))
        assertThrows(.invalidMigrations("expected version 2, found 0003_c"),
                     try Migrator(migrations: [Migration(file: "0001_a.sql", sql: ""), Migration(file: "0003_c.sql", sql: "")]))
        assertThrows(.invalidMigrations("expected version 2, found 0001_b"),
                     try Migrator(migrations: [Migration(file: "0001_a.sql", sql: ""), Migration(file: "0001_b.sql", sql: "")]))
    }

    private func schema() throws -> [String] {
        try store.read { try $0.connection.query("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name") { $0.text(0) } }
    }
}
