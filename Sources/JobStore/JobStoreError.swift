// Every error the job store throws. The HTTP layer maps them: notFound → 404, illegalTransition and
// idempotencyKeyInUse → 409, idempotencyKeyReused → 422, invalidCursor → 400, the rest → 500/503.

/// A failed SQLite call: the primary and extended result codes, SQLite's message, and the SQL or
/// operation that failed. Bound arguments are never included (they may hold user data).
public struct SQLiteFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: Int32
    public let extendedCode: Int32
    public let message: String
    /// The SQL text, or a short name of the operation ("open", "prepare", "exec") when there is none.
    public let operation: String

    public var isBusy: Bool { code == 5 || code == 6 }  // SQLITE_BUSY, SQLITE_LOCKED
    public var isConstraintViolation: Bool { code == 19 }  // SQLITE_CONSTRAINT
    /// The disk or file system refused a write (SQLITE_FULL); the transaction was rolled back.
    public var isDiskFull: Bool { code == 13 }
    /// The database cannot be written at all: read-only file or folder, I/O error, cannot open.
    public var isStorageUnavailable: Bool { code == 8 || code == 10 || code == 14 }

    public var description: String {
        "SQLite error \(extendedCode) (\(message)) in: \(operation)"
    }
}

/// The kind of object an error is about.
public enum StoreObject: String, Sendable {
    case sweep, job, checkpoint, event, idempotencyKey = "idempotency_key"
}

/// What was asked of an object whose status refused it. The raw value is the verb of the error message
/// ("cannot \(action) job …"); the API names its error code after the action.
public enum TransitionAction: String, Sendable {
    case cancel, retry, pause, resume, delete, finish, fail, requeue
    case confirmCancellation = "confirm the cancellation of"
}

public enum JobStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case sqlite(SQLiteFailure)
    case notFound(StoreObject, id: String)
    /// The action is not allowed from the object's current status (e.g. cancel a succeeded job).
    case illegalTransition(StoreObject, id: String, status: String, action: TransitionAction)
    /// The worker's lease token no longer owns the job (rescued, re-claimed, or finished): stop working on it.
    case leaseLost(jobID: String)
    /// A pagination cursor that names no object of the listed kind.
    case invalidCursor(StoreObject, cursor: String)
    /// The database was migrated by a newer binary; refusing to touch it.
    case schemaTooNew(databaseVersion: Int, knownVersion: Int)
    /// Migrations are pending and the store was opened without applying them.
    case schemaOutOfDate(databaseVersion: Int, knownVersion: Int)
    /// A connection pragma did not take the value asked for (e.g. WAL refused on this file system).
    case pragmaRejected(name: String, expected: String, actual: String)
    /// Migration files that cannot be ordered (bad name, duplicate or missing version).
    case invalidMigrations(String)
    /// Another request with this Idempotency-Key is still being processed.
    case idempotencyKeyInUse(key: String)
    /// The Idempotency-Key was used before for a different method, path or body.
    case idempotencyKeyReused(key: String)
    /// A stored value outside the set this binary knows (`column` is `table.column`).
    case unknownStoredValue(column: String, value: String)

    /// A stable machine-readable code for logs and error bodies.
    public var code: String {
        switch self {
        case .sqlite: return "database_error"
        case .notFound(let object, _): return "\(object.rawValue)_not_found"
        case .illegalTransition: return "illegal_transition"
        case .leaseLost: return "lease_lost"
        case .invalidCursor: return "invalid_cursor"
        case .schemaTooNew: return "schema_too_new"
        case .schemaOutOfDate: return "schema_out_of_date"
        case .pragmaRejected: return "pragma_rejected"
        case .invalidMigrations: return "invalid_migrations"
        case .idempotencyKeyInUse: return "idempotency_key_in_use"
        case .idempotencyKeyReused: return "idempotency_key_reused"
        case .unknownStoredValue: return "unknown_stored_value"
        }
    }

    public var description: String {
        switch self {
        case .sqlite(let failure): return failure.description
        case .notFound(let object, let id): return "\(object.rawValue) \(id) not found"
        case .illegalTransition(let object, let id, let status, let action):
            return "cannot \(action.rawValue) \(object.rawValue) \(id): it is \(status)"
        case .leaseLost(let jobID): return "lease on job \(jobID) lost: another worker or the rescuer owns it now"
        case .invalidCursor(let object, let cursor): return "cursor \(cursor) names no \(object.rawValue)"
        case .schemaTooNew(let database, let known):
            return "database schema version \(database) is newer than this binary knows (\(known)); "
                + "run a newer unipelt or restore a backup"
        case .schemaOutOfDate(let database, let known):
            return "database schema version \(database) is older than \(known); run `unipelt migrate`"
        case .pragmaRejected(let name, let expected, let actual):
            return "PRAGMA \(name) is \(actual), expected \(expected)"
        case .invalidMigrations(let reason): return "invalid migrations: \(reason)"
        case .idempotencyKeyInUse(let key): return "a request with Idempotency-Key \(key) is still in progress"
        case .idempotencyKeyReused(let key):
            return "Idempotency-Key \(key) was already used with a different method, path or body"
        case .unknownStoredValue(let column, let value):
            return "\(column) holds '\(value)', which this binary does not know; was the database written by a newer unipelt?"
        }
    }
}
