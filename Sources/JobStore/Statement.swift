// A prepared statement, owned by its connection's cache and finalized with it.
import CSQLite
import Foundation

/// A value bound to a statement parameter. `nil` (an absent optional) binds NULL.
enum SQLiteValue: Equatable {
    case integer(Int)
    case real(Double)
    case text(String)
    case blob(Data)
}

/// Shorthands for building argument lists from Swift values.
extension Optional where Wrapped == SQLiteValue {
    static func int(_ value: Int?) -> SQLiteValue? { value.map { .integer($0) } }
    static func double(_ value: Double?) -> SQLiteValue? { value.map { .real($0) } }
    static func string(_ value: String?) -> SQLiteValue? { value.map { .text($0) } }
}

final class Statement {
    let sql: String
    private let handle: OpaquePointer
    private unowned let connection: Connection

    init(connection: Connection, sql: String) throws {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw connection.failure(rc, sql) }
        self.sql = sql
        self.handle = statement
        self.connection = connection
    }

    deinit { sqlite3_finalize(handle) }

    func bind(_ values: [SQLiteValue?]) throws {
        precondition(values.count == Int(sqlite3_bind_parameter_count(handle)),
                     "\(values.count) arguments for \(sqlite3_bind_parameter_count(handle)) parameters in: \(sql)")
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case nil: rc = sqlite3_bind_null(handle, index)
            case .integer(let int)?: rc = sqlite3_bind_int64(handle, index, Int64(int))
            case .real(let double)?: rc = sqlite3_bind_double(handle, index, double)
            case .text(let string)?: rc = sqlite3_bind_text(handle, index, string, -1, sqliteTransient)
            case .blob(let data)?:
                rc = data.withUnsafeBytes { bytes in
                    sqlite3_bind_blob(handle, index, bytes.baseAddress, Int32(bytes.count), sqliteTransient)
                }
            }
            if rc != SQLITE_OK { throw connection.failure(rc, sql) }
        }
    }

    /// Advances to the next row: true if there is one, false when the statement is done.
    func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.failure(rc, sql)
        }
    }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // Column readers for the current row. The non-optional ones are for NOT NULL columns.

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    func optionalInt(_ column: Int32) -> Int? { isNull(column) ? nil : int(column) }

    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : double(column) }

    func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: bytes)
    }
    func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }

    func blob(_ column: Int32) -> Data {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let bytes = sqlite3_column_blob(handle, column) else { return Data() }
        return Data(bytes: bytes, count: count)
    }
}
