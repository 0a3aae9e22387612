import Foundation
import XCTest
import JobStore
@testable import Service

/// The table lays out what `StoreReader.sweepResults` aggregated; the rows come from a real store.
final class ResultsTableTests: XCTestCase {
    private var directory: URL!
    private var table: ResultsTable!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("results-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try JobStore(path: directory.appendingPathComponent("db.sqlite3").path, now: 1)
        // (task, K, method, variant, seed, test metric or nil for a job that did not succeed)
        let cells: [(String, KShot, String, String, Int, Double?)] = [
            ("rte", .examples(100), "lora", "", 1, 0.5), ("rte", .examples(100), "lora", "", 2, 0.6),
            ("rte", .examples(100), "lora", "", 3, 0.7), ("sst2", .examples(100), "lora", "", 1, 0.8),
            ("rte", .examples(100), "unipelt-apl", "", 1, 0.55), ("rte", .examples(100), "unipelt-apl", "", 2, 0.65),
            ("rte", .all, "lora", "", 1, 0.9), ("rte", .examples(500), "lora", "", 1, 0.61),
            ("rte", .examples(500), "lora", "", 2, 0.63), ("mrpc", .examples(100), "lora", "", 1, nil),
            ("rte", .examples(100), "lora", "epochs=3", 1, 0.4),
        ]
        let jobs = cells.map { task, k, method, variant, seed, _ in
            NewJob(cellKey: "\(task)/K=\(k)/seed=\(seed)/\(method)/\(variant)", task: task, k: k, seed: seed,
                   method: method, variant: variant, spec: "{}")
        }
        let sweep = try store.write { try $0.createSweep(NewSweep(name: "t", spec: "{}"), jobs: jobs, now: 1) }
        for value in cells.map(\.5) {
            let claimed = try XCTUnwrap(try store.write { try $0.claim(limit: 1, owner: "w", leaseSeconds: 60, now: 1) }.first)
            if let value {
                _ = try store.write { try $0.finish(claimed.lease, result: #"{"metric":"accuracy","test_metric":\#(value)}"#, now: 2) }
            } else {
                _ = try store.write { try $0.fail(claimed.lease, failure: JobFailure(code: "x", message: "x"), now: 2) }
            }
        }
        let rows = try store.read { try $0.sweepResults(sweepID: sweep.sweep.id) }
        table = ResultsTable(results: rows, taskOrder: ["sst2", "mrpc", "rte"], methodOrder: ["finetune", "lora", "unipelt-apl"])
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testOrdersDropEmptyTasksAndMethodsAndSortK() {
        XCTAssertEqual(table.taskOrder, ["sst2", "rte"])
        XCTAssertEqual(table.methodOrder, ["lora", "unipelt-apl"])
        XCTAssertEqual(table.kValues, ["100", "500", "all"])
    }

    func testAverageOnlyWhenEveryTaskHasAValue() {
        XCTAssertEqual(table.average(k: "100", method: "lora")!, 0.7, accuracy: 1e-12)
        XCTAssertNil(table.average(k: "100", method: "unipelt-apl"))
    }

    func testCSVLayoutUsesTheStoresSampleStandardDeviation() {
        XCTAssertEqual(table.csv(), """
        k,method,variant,sst2,rte,avg
        100,lora,,80.00,60.00 ± 10.00,70.00
        100,lora,epochs=3,,40.00,
        100,unipelt-apl,,,60.00 ± 7.07,
        500,lora,,,62.00 ± 1.41,
        all,lora,,,90.00,

        """)
    }

    func testJSONRows() throws {
        let rows = table.rows()
        XCTAssertEqual(rows.map { "\($0.k)/\($0.method)/\($0.variant)" },
                       ["100/lora/", "100/lora/epochs=3", "100/unipelt-apl/", "500/lora/", "all/lora/"])
        let rte = try XCTUnwrap(rows[0].tasks["rte"])
        XCTAssertEqual(rte.values.map { ($0 * 1e9).rounded() / 1e9 }, [50, 60, 70])
        XCTAssertEqual(rte.seeds, [1, 2, 3])
        XCTAssertEqual(rte.std!, 10, accuracy: 1e-9)
        XCTAssertEqual(rte.metric, "accuracy")
        XCTAssertNil(rows[0].tasks["sst2"]?.std)
        XCTAssertEqual(rows[0].average!, 70, accuracy: 1e-9)
        let json = String(decoding: try JSONEncoder().encode(rows[2]), as: UTF8.self)
        XCTAssertTrue(json.contains(#""object":"results.row""#), json)
        XCTAssertTrue(json.contains(#""average":null"#), json)
    }
}
