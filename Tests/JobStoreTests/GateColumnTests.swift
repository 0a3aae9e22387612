import Foundation
import XCTest
@testable import JobStore

/// `GateSubmodule` is the store's typed view of `gates.submodule`: its codes must be exactly those the schema's
/// CHECK constraint allows, and a code outside them that is in the file anyway is an error, not a dropped row.
final class GateColumnTests: StoreTestCase {
    func testSubmoduleCodesAreTheSchemasCheckList() throws {
        // The migrated schema, not one file: a later migration that rebuilt the table would be what counts.
        let table = try XCTUnwrap(try store.read {
            try $0.connection.queryOne("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'gates'") { $0.text(0) }
        })
        let check = try XCTUnwrap(table.range(of: #"submodule IN \(([^)]*)\)"#, options: .regularExpression),
                                  "no CHECK on gates.submodule in: \(table)")
        let listed = table[check].drop { $0 != "(" }.dropFirst().dropLast()
            .split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " '")) }
        XCTAssertEqual(listed.sorted(), GateSubmodule.allCases.map(\.rawValue).sorted())
    }

    func testUnknownStoredSubmoduleIsAnErrorNamingIt() throws {
        try createSweep(seeds: 1)
        let claimed = try claimOne()
        try store.write { try $0.recordGates(claimed.lease, step: 1, values: [GateValue(layer: 0, submodule: .adapter, value: 0.5)]) }
        // A row the CHECK would refuse, as a database written by some other binary might hold.
        try sql("""
            PRAGMA ignore_check_constraints = ON;
            INSERT INTO gates (job_id, step, layer, submodule, attempt, value) VALUES ('\(claimed.job.id)', 1, 0, 'Lk', 1, 0.5);
            PRAGMA ignore_check_constraints = OFF;
            """)
        assertThrows(.unknownStoredValue(column: "gates.submodule", value: "Lk"),
                     try store.read { try $0.gates(jobID: claimed.job.id, window: StepWindow(limit: 10)) })
    }
}
