import XCTest
import CSQLite

/// The SQLite system library links, and is new enough for UPDATE … RETURNING (3.35+).
final class SQLiteLinkTests: XCTestCase {
    func testSQLiteVersionSupportsReturning() {
        XCTAssertGreaterThanOrEqual(Int(sqlite3_libversion_number()), 3_035_000)
    }
}
