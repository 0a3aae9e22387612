import Foundation
import JobStore
@testable import Service
@testable import Training
import TestSupport
import XCTest

/// The trainer names a result's numbers (`TrainingResult`), the service stores it as JSON, and the store's SQL
/// reads them back at `ResultPaths`: a renamed field would otherwise leave every results table empty.
final class ResultKeysTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory("result-keys").url
    }

    func testStoredTrainingResultIsReadAtTheStoresDefaultPaths() throws {
        let result = TrainingResult(task: "rte", k: 16, seed: 1, method: "unipelt-ap", metric: "accuracy", testMetric: 0.625,
                                    testMetrics: ["accuracy": 0.625], bestDevMetric: 0.75, bestStep: 4, stepsRun: 6,
                                    epochsRun: 3, stoppedEarly: false, trainableParameters: 10, split: .official,
                                    trainRows: nil, devRows: nil)
        let store = try JobStore(path: directory.appendingPathComponent("db.sqlite3").path, now: 1)
        let job = NewJob(cellKey: "rte/K=16/seed=1/unipelt-ap", task: "rte", k: .examples(16), seed: 1,
                         method: "unipelt-ap", variant: "", spec: "{}")
        let sweepID = try store.write { try $0.createSweep(NewSweep(name: "t", spec: "{}"), jobs: [job], now: 1) }.sweep.id
        let claimed = try XCTUnwrap(try store.write { try $0.claim(limit: 1, owner: "w", leaseSeconds: 60, now: 1) }.first)
        try store.write { writer in
            for step in [2, 4, 6] {
                try writer.recordGates(claimed.lease, step: step,
                                       values: [GateValue(layer: 0, submodule: .adapter, value: Double(step))])
            }
        }
        _ = try store.write { try $0.finish(claimed.lease, result: try JobExecution.resultJSON(result), now: 2) }

        let runs = try store.read { try $0.sweepRuns(sweepID: sweepID) }
        XCTAssertEqual(runs.map(\.metricName), [result.metric])
        XCTAssertEqual(runs.map(\.testMetric), [result.testMetric])
        XCTAssertEqual(runs.map(\.devMetric), [result.bestDevMetric])
        let gates = try store.read { try $0.sweepBestGates(sweepID: sweepID) }
        XCTAssertEqual(gates.map(\.value), [Double(result.bestStep)], "the gates of the step the result names as best")
    }
}
