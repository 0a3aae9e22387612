// One SQLite connection. It is opened in multi-thread mode (SQLITE_OPEN_NOMUTEX): SQLite does no
// locking of its own, so a connection must be used by one thread at a time. JobStore guarantees
// that (one writer behind a serial queue, readers checked out of a pool).
import CSQLite

/// SQLite's `synchronous` setting. FULL (the default here) fsyncs the WAL on every commit, so a
/// committed job survives power loss; NORMAL survives `kill -9` but may lose the last commits on
/// power loss, in exchange for fewer fsyncs.
public enum SynchronousMode: Int, Sendable {
    case normal = 1
    case full = 2
}

/// Connection settings: WAL with synchronous=FULL by default (NORMAL survives `kill -9` but can lose
/// the last commits on power loss), a busy timeout, foreign keys on.
public struct ConnectionSettings: Equatable, Sendable {
    public var synchronous: SynchronousMode = .full
    public var busyTimeoutMilliseconds: Int = 5000

    public init(synchronous: SynchronousMode = .full, busyTimeoutMilliseconds: Int = 5000) {
        self.synchronous = synchronous
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
    }
}

// SQLITE_TRANSIENT tells SQLite to copy bound text and blobs; the C macro does not import.
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

final class Connection {
    let handle: OpaquePointer
    let path: String
    private var statements: [String: Statement] = [:]

    /// Opens (creating if needed) the database at `path` and applies `settings`, checking that each
    /// pragma took. `queryOnly` connections refuse writes (the reader pool).
    init(path: String, settings: ConnectionSettings, queryOnly: Bool) throws {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw JobStoreError.sqlite(SQLiteFailure(code: rc & 0xff, extendedCode: rc, message: message,
                                                      operation: "open \(path)"))
        }
        self.handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
        try configure(settings, queryOnly: queryOnly)
    }

    deinit {
        statements.removeAll()  // finalize before closing
        sqlite3_close_v2(handle)
    }

    /// The WAL file's size after a completed checkpoint (`PRAGMA journal_size_limit`).
    static let walSizeLimitBytes = 16 << 20

    private func configure(_ settings: ConnectionSettings, queryOnly: Bool) throws {
        // busy_timeout first: switching to WAL may itself wait for another process.
        try expectPragma("busy_timeout", set: "\(settings.busyTimeoutMilliseconds)",
                         equals: "\(settings.busyTimeoutMilliseconds)")
        try expectPragma("journal_mode", set: "WAL", equals: "wal")
        try expectPragma("synchronous", set: "\(settings.synchronous.rawValue)",
                         equals: "\(settings.synchronous.rawValue)")
        try expectPragma("foreign_keys", set: "ON", equals: "1")
        // A long read blocks checkpoints and the WAL grows meanwhile; once a checkpoint completes,
        // SQLite truncates the file back to this size instead of keeping its high-water mark.
        try expectPragma("journal_size_limit", set: "\(Connection.walSizeLimitBytes)",
                         equals: "\(Connection.walSizeLimitBytes)")
        try expectPragma("query_only", set: queryOnly ? "ON" : "OFF", equals: queryOnly ? "1" : "0")
    }

    /// Sets a pragma, then reads it back: SQLite ignores pragmas it cannot apply without an error.
    private func expectPragma(_ name: String, set value: String, equals expected: String) throws {
        try execute("PRAGMA \(name) = \(value)")
        let actual = try pragma(name)
        guard actual.lowercased() == expected else {
            throw JobStoreError.pragmaRejected(name: name, expected: expected, actual: actual)
        }
    }

    /// The current value of a pragma, as text.
    func pragma(_ name: String) throws -> String {
        try queryOne("PRAGMA \(name)", []) { $0.text(0) } ?? ""
    }

    func failure(_ rc: Int32, _ operation: String) -> JobStoreError {
        .sqlite(SQLiteFailure(code: rc & 0xff, extendedCode: sqlite3_extended_errcode(handle),
                              message: String(cString: sqlite3_errmsg(handle)), operation: operation))
    }

    /// Runs SQL text that may hold several statements and returns no rows (migrations, BEGIN/COMMIT).
    func execute(_ sql: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(errorMessage)
            throw JobStoreError.sqlite(SQLiteFailure(code: rc & 0xff, extendedCode: sqlite3_extended_errcode(handle),
                                                      message: message, operation: sql))
        }
    }

    /// The prepared statement for `sql`, prepared once per connection and reused.
    private func statement(_ sql: String) throws -> Statement {
        if let cached = statements[sql] { return cached }
        let statement = try Statement(connection: self, sql: sql)
        statements[sql] = statement
        return statement
    }

    /// Binds `arguments` to the cached statement for `sql`, gives it to `body`, then resets it so it
    /// holds no read lock and no bound values after use.
    func withStatement<T>(_ sql: String, _ arguments: [SQLiteValue?], _ body: (Statement) throws -> T) throws -> T {
        let statement = try statement(sql)
        defer { statement.reset() }
        try statement.bind(arguments)
        return try body(statement)
    }

    /// Runs a statement without result rows; returns the number of rows it changed.
    @discardableResult
    func run(_ sql: String, _ arguments: [SQLiteValue?] = []) throws -> Int {
        try withStatement(sql, arguments) { statement in
            while try statement.step() {}
            return Int(sqlite3_changes(handle))
        }
    }

    /// Runs a query and maps every row.
    func query<T>(_ sql: String, _ arguments: [SQLiteValue?] = [], _ row: (Statement) throws -> T) throws -> [T] {
        try withStatement(sql, arguments) { statement in
            var rows: [T] = []
            while try statement.step() { rows.append(try row(statement)) }
            return rows
        }
    }

    /// Runs a query and maps its first row, if any.
    func queryOne<T>(_ sql: String, _ arguments: [SQLiteValue?] = [], _ row: (Statement) throws -> T) throws -> T? {
        try withStatement(sql, arguments) { statement in
            try statement.step() ? try row(statement) : nil
        }
    }

    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs `body` in a transaction and commits it; rolls back if `body` throws. Writers use
    /// IMMEDIATE: a DEFERRED transaction that reads and then writes must upgrade its lock and gets
    /// SQLITE_BUSY at once if another connection wrote meanwhile — busy_timeout does not help
    /// there. Readers use DEFERRED so one read sees one snapshot.
    @discardableResult
    func transaction<T>(immediate: Bool, _ body: () throws -> T) throws -> T {
        precondition(!isInTransaction, "nested transaction on \(path)")
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            // Some errors (e.g. SQLITE_FULL) roll back by themselves; only roll back what is open.
            // The first error is the one reported.
            if isInTransaction { try? execute("ROLLBACK") }
            throw error
        }
    }
}
