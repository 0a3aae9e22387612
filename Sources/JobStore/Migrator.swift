// Applies numbered SQL migrations in order. The schema version is `PRAGMA user_version`: the
// number of the last migration applied. Each migration and its version bump commit together in one
// IMMEDIATE transaction, and the version is re-read inside it, so two processes migrating at
// once apply each migration exactly once.

/// One migration: `NNNN_name.sql`, version NNNN.
public struct Migration: Equatable, Sendable {
    public let version: Int
    public let name: String
    public let sql: String

    /// Parses `NNNN_name.sql` into a migration, or throws if the name does not follow that pattern.
    public init(file: String, sql: String) throws {
        let stem = file.hasSuffix(".sql") ? String(file.dropLast(4)) : ""
        let parts = stem.split(separator: "_", maxSplits: 1)
        guard parts.count == 2, parts[0].allSatisfy(\.isASCII), let version = Int(parts[0]), version > 0 else {
            throw JobStoreError.invalidMigrations("\(file) is not named NNNN_name.sql")
        }
        self.version = version
        self.name = stem
        self.sql = sql
    }
}

public struct Migrator: Sendable {
    /// The migrations compiled into this binary (migrations/*.sql, embedded by migrations/embed.sh).
    public static let embedded: Migrator = {
        do { return try Migrator(migrations: embeddedMigrations.map { try Migration(file: $0.file, sql: $0.sql) }) }
        catch { fatalError("embedded migrations are invalid: \(error)") }
    }()

    public let migrations: [Migration]

    /// The version the database has after all migrations.
    public var latestVersion: Int { migrations.last?.version ?? 0 }

    /// Orders the migrations and checks that their versions run 1, 2, 3… without gaps or repeats.
    public init(migrations: [Migration]) throws {
        let sorted = migrations.sorted { $0.version < $1.version }
        for (index, migration) in sorted.enumerated() where migration.version != index + 1 {
            throw JobStoreError.invalidMigrations("expected version \(index + 1), found \(migration.name)")
        }
        self.migrations = sorted
    }

    /// What a migration run did.
    public struct Outcome: Equatable, Sendable {
        public let fromVersion: Int
        public let toVersion: Int
        public let applied: [String]
    }

    func version(of connection: Connection) throws -> Int {
        Int(try connection.pragma("user_version")) ?? 0
    }

    /// Applies every migration newer than the database's version. A second run is a no-op. A
    /// database newer than `latestVersion` is refused before anything is written.
    func migrate(_ connection: Connection) throws -> Outcome {
        let start = try version(of: connection)
        if start > latestVersion {
            throw JobStoreError.schemaTooNew(databaseVersion: start, knownVersion: latestVersion)
        }
        var applied: [String] = []
        for migration in migrations where migration.version > start {
            try connection.transaction(immediate: true) {
                // Another process may have applied it since we looked.
                guard try version(of: connection) < migration.version else { return }
                try connection.execute(migration.sql)
                // Like sqlite's ALTER procedure: a migration must leave no dangling foreign keys.
                let violations = try connection.query("PRAGMA foreign_key_check", []) { $0.text(0) }
                if let table = violations.first {
                    throw JobStoreError.invalidMigrations("\(migration.name) leaves foreign key violations in \(table)")
                }
                try connection.execute("PRAGMA user_version = \(migration.version)")
                applied.append(migration.name)
            }
        }
        return Outcome(fromVersion: start, toVersion: try version(of: connection), applied: applied)
    }
}
