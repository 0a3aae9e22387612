import Analysis
import Foundation
import XCTest
import JobStore
@testable import Service
import TestSupport

/// The reports over rows a real store hands out: per-job numbers and best-step gates in, tables out.
final class ResultsTableTests: XCTestCase {
    private var directory: URL!
    private var store: JobStore!
    private var sweepID: String!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory("results").url
        store = try JobStore(path: directory.appendingPathComponent("db.sqlite3").path, now: 1)
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
        sweepID = sweep.sweep.id
        for (index, value) in cells.map(\.5).enumerated() {
            let claimed = try XCTUnwrap(try store.write { try $0.claim(limit: 1, owner: "w", leaseSeconds: 60, now: 1) }.first)
            if claimed.job.method == "unipelt-apl" {
                // Gates at two evaluations; the result names step 4 as the best.
                try store.write { writer in
                    for step in [2, 4] {
                        try writer.recordGates(claimed.lease, step: step, values: [
                            GateValue(layer: 0, submodule: .adapter, value: Double(step) / 10 + Double(claimed.job.seed) / 100),
                            GateValue(layer: 0, submodule: .prefix, value: 0.5),
                        ])
                    }
                }
            }
            if let value {
                // The `epochs=3` variant has the best dev metric and the worst test metric.
                let dev = index == cells.count - 1 ? 0.9 : 0.5
                _ = try store.write {
                    try $0.finish(claimed.lease, result: #"{"metric":"accuracy","test_metric":\#(value),"best_dev_metric":\#(dev),"best_step":4}"#, now: 2)
                }
            } else {
                _ = try store.write { try $0.fail(claimed.lease, failure: JobFailure(code: "x", message: "x"), now: 2) }
            }
        }
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func render(_ report: SweepReport, _ format: SweepReport.Format = .csv) throws -> String {
        let inputs = try store.read { try $0.reportInputs(sweepID: sweepID, gates: report.needsGates) }
        return try report.render(runs: inputs.runs, gates: inputs.gates, taskOrder: ["sst2", "mrpc", "rte"],
                                 methodOrder: ["finetune", "lora", "unipelt-apl"], sweepID: sweepID, format: format)
    }

    /// mrpc's one job failed: its column stays, empty, and no average over tasks leaves it out.
    func testAllVariantsKeepTheTable1Layout() throws {
        XCTAssertEqual(try render(.table1(.all)), """
        k,method,variant,sst2,mrpc,rte,avg
        100,lora,,80.00,,60.00 ± 10.00,
        100,lora,epochs=3,,,40.00,
        100,unipelt-apl,,,,60.00 ± 7.07,
        500,lora,,,,62.00 ± 1.41,
        all,lora,,,,90.00,

        """)
    }

    func testSelectionByTheStoresDevMetric() throws {
        XCTAssertEqual(try render(.table1(.selected)), """
        k,method,variant,sst2,mrpc,rte,avg,sst2 variant,mrpc variant,rte variant
        100,lora,(per task),80.00,,40.00,,,,epochs=3
        100,unipelt-apl,,,,60.00 ± 7.07,,,,
        500,lora,,,,62.00 ± 1.41,,,,
        all,lora,,,,90.00,,,,

        """)
    }

    func testGatesAtTheBestStepAveragedOverSeeds() throws {
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try render(.gates(.selected), .json).utf8)) as? [String: Any])
        XCTAssertEqual(json["object"] as? String, "sweep.gates")
        let rows = try XCTUnwrap(json["data"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows[0]["method"] as? String, "unipelt-apl")
        XCTAssertEqual(rows[0]["seeds"] as? [Int], [1, 2])
        let gates = try XCTUnwrap(rows[0]["gates"] as? [[String: Any]])
        XCTAssertEqual(gates.compactMap { $0["submodule"] as? String }, ["A", "P"])
        XCTAssertEqual(gates[0]["mean"] as? Double ?? 0, 0.415, accuracy: 1e-12, "step 4's values, not step 2's")
    }

    func testStoreRowsCarryDevAndCountUnsucceededJobs() throws {
        let runs = try store.read { try $0.sweepRuns(sweepID: sweepID) }
        XCTAssertEqual(runs.count, 11)
        let failed = try XCTUnwrap(runs.first { $0.task == "mrpc" })
        XCTAssertFalse(failed.succeeded)
        XCTAssertNil(failed.testMetric)
        XCTAssertEqual(runs.first { $0.variant == "epochs=3" }?.devMetric, 0.9)
    }
}
