// The job store: sweeps, jobs, leases and everything the trainer reports, in one SQLite file.
//
// Concurrency model: one writer connection, confined to a serial dispatch queue,
// runs every write as a `BEGIN IMMEDIATE` transaction; a fixed pool of query-only reader
// connections serves reads, each read in its own short DEFERRED transaction (one snapshot). WAL
// lets readers run while the writer writes. Inside one process writers therefore never contend;
// across processes (tests, `unipelt migrate` next to a running server) SQLite's lock and
// busy_timeout serialise them. Calling `write` from inside a `write` body is a programming error
// and traps; a `read` inside a `write` body works but sees the snapshot before the write.
import Dispatch
import Foundation

public final class JobStore: @unchecked Sendable {  // all mutable state is behind writerQueue or the pool's lock
    public struct Configuration: Sendable {
        public var connection: ConnectionSettings
        /// Read connections; more than the number of threads that read at once buys nothing.
        public var readerCount: Int
        /// Apply pending migrations when opening. When false, a database that is behind throws
        /// `schemaOutOfDate` (run `unipelt migrate` first).
        public var applyMigrations: Bool

        public init(connection: ConnectionSettings = ConnectionSettings(), readerCount: Int = 4,
                    applyMigrations: Bool = true) {
            precondition(readerCount >= 1, "readerCount must be at least 1")
            self.connection = connection
            self.readerCount = readerCount
            self.applyMigrations = applyMigrations
        }
    }

    public let path: String
    /// This process's instance: its leases carry this id, so the next start can rescue them.
    public let instanceID: String
    private let writer: StoreWriter
    private let writerQueue = DispatchQueue(label: "unipelt.jobstore.writer")
    private let readers: ReaderPool

    /// Opens the database at `path` (created if missing), migrates it (see `Configuration`), and
    /// registers a new process instance started at `now`.
    public init(path: String, configuration: Configuration = Configuration(), now: Int) throws {
        let connection = try Connection(path: path, settings: configuration.connection, queryOnly: false)
        let migrator = Migrator.embedded
        if configuration.applyMigrations {
            _ = try migrator.migrate(connection)
        } else {
            let version = try migrator.version(of: connection)
            if version > migrator.latestVersion {
                throw JobStoreError.schemaTooNew(databaseVersion: version, knownVersion: migrator.latestVersion)
            }
            if version < migrator.latestVersion {
                throw JobStoreError.schemaOutOfDate(databaseVersion: version, knownVersion: migrator.latestVersion)
            }
        }
        let instanceID = newID("ins")
        try connection.transaction(immediate: true) {
            try connection.run("INSERT INTO instances (id, pid, started_at) VALUES (?, ?, ?)",
                               [.text(instanceID), .integer(Int(getpid())), .integer(now)])
        }
        self.path = path
        self.instanceID = instanceID
        self.writer = StoreWriter(connection: connection, instanceID: instanceID)
        self.readers = ReaderPool(
            connections: try (0..<configuration.readerCount).map { _ in
                try Connection(path: path, settings: configuration.connection, queryOnly: true)
            })
    }

    /// Applies pending migrations to the database at `path` and reports what it did; the command
    /// behind `unipelt migrate`.
    public static func migrate(path: String, settings: ConnectionSettings = ConnectionSettings()) throws -> Migrator.Outcome {
        try Migrator.embedded.migrate(Connection(path: path, settings: settings, queryOnly: false))
    }

    /// Runs `body` in one IMMEDIATE write transaction: it commits if `body` returns and rolls back
    /// if it throws. The writer must not escape `body`.
    public func write<T>(_ body: (StoreWriter) throws -> T) throws -> T {
        dispatchPrecondition(condition: .notOnQueue(writerQueue))
        return try writerQueue.sync {
            try writer.connection.transaction(immediate: true) { try body(writer) }
        }
    }

    /// Runs `body` in one read transaction on a pooled read connection (waiting for a free one).
    /// The reader must not escape `body`.
    public func read<T>(_ body: (StoreReader) throws -> T) throws -> T {
        try readers.withReader { reader in
            try reader.connection.transaction(immediate: false) { try body(reader) }
        }
    }
}

/// A fixed set of read connections handed out one caller at a time.
private final class ReaderPool {
    private var idle: [StoreReader]
    private let condition = NSCondition()

    init(connections: [Connection]) {
        idle = connections.map(StoreReader.init(connection:))
    }

    func withReader<T>(_ body: (StoreReader) throws -> T) throws -> T {
        condition.lock()
        while idle.isEmpty { condition.wait() }
        let reader = idle.removeLast()
        condition.unlock()
        defer {
            condition.lock()
            idle.append(reader)
            condition.signal()
            condition.unlock()
        }
        return try body(reader)
    }
}

/// Read operations (JobStore+Reads.swift and friends). Valid only inside `JobStore.read` or
/// `JobStore.write`.
public class StoreReader {
    let connection: Connection

    init(connection: Connection) {
        self.connection = connection
    }
}

/// Write operations (JobQueue.swift and friends); it can read too, inside its own transaction.
/// Valid only inside `JobStore.write`.
public final class StoreWriter: StoreReader {
    let instanceID: String

    init(connection: Connection, instanceID: String) {
        self.instanceID = instanceID
        super.init(connection: connection)
    }
}

/// A fresh opaque id, e.g. `job_3f9a…`: the prefix and 96 random bits as 24 hex digits.
func newID(_ prefix: String) -> String {
    var generator = SystemRandomNumberGenerator()
    let bits: (UInt64, UInt32) = (generator.next(), UInt32(truncatingIfNeeded: generator.next() as UInt64))
    return prefix + "_" + zeroPaddedHex(bits.0) + zeroPaddedHex(bits.1)
}

private func zeroPaddedHex<T: FixedWidthInteger & UnsignedInteger>(_ value: T) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: T.bitWidth / 4 - digits.count) + digits
}
