import Foundation
import Tensor
import Text
import XCTest
@testable import Training
import TestSupport

final class RunFilesTests: XCTestCase {
    private let evaluations = [
        EvaluationRecord(step: 2, epoch: 1, trainLoss: 0.7, devLoss: 0.69, devMetrics: ["f1": 0.5, "accuracy": 0.25],
                         testMetrics: ["f1": 0.4, "accuracy": 0.5], devMetric: 0.5, testMetric: 0.4, isBest: true,
                         gates: [GateMean(layer: 0, submodule: .adapter, mean: 0.5), GateMean(layer: 0, submodule: .prefix, mean: 0.125)]),
        EvaluationRecord(step: 4, epoch: 2, trainLoss: 0.6, devLoss: 0.65, devMetrics: ["f1": 0.5, "accuracy": 0.75],
                         testMetrics: ["f1": 0.6, "accuracy": 0.5], devMetric: 0.5, testMetric: 0.6, isBest: false,
                         gates: []),
    ]

    func testMetricsCSVHasOneRowPerEvaluationInMetricOrder() {
        XCTAssertEqual(RunFiles.metricsCSV(evaluations, metricNames: ["f1", "accuracy"]), """
            step,epoch,train_loss,dev_loss,dev_f1,dev_accuracy,test_f1,test_accuracy,is_best
            2,1,0.7,0.69,0.5,0.25,0.4,0.5,1
            4,2,0.6,0.65,0.5,0.75,0.6,0.5,0

            """)
    }

    func testGatesCSVHasOneRowPerGate() {
        XCTAssertEqual(RunFiles.gatesCSV(evaluations), "step,layer,submodule,mean\n2,0,A,0.5\n2,0,P,0.125\n")
    }

    func testRunWritesTheThreeFilesAndTheSummaryReadsBack() throws {
        let spec = try TrainingFixtures.spec("lora", ["epochs": .integer(1)])
        let directory = try makeTemporaryDirectory("unipelt-training").path
        let trainer = try TrainingFixtures.trainer(spec, checkpointDirectory: directory)
        let outcome = try trainer.run()
        try RunFiles.write(trainer: trainer, outcome: outcome, seconds: 1.5, to: directory)
        let summary = try RunFiles.readSummary(path: directory + "/result.json")
        XCTAssertEqual(summary.spec, spec)
        XCTAssertEqual(summary.status, "finished")
        guard case let .finished(result) = outcome else { return XCTFail("not finished") }
        XCTAssertEqual(summary.result, result)
        XCTAssertEqual(result.split, .official)
        XCTAssertEqual(result.trainRows, trainer.data.trainRows)
        XCTAssertEqual(result.devRows, trainer.data.devRows)
        XCTAssertEqual(result.trainRows.map { Set($0).count }, 16)
        XCTAssertEqual(summary.blasKernels, BLAS.coreName)
        XCTAssertFalse(BLAS.coreName.isEmpty)
        let csv = try String(contentsOfFile: directory + "/metrics.csv", encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 2)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/gates.csv"))
    }

    /// A result.json from before the split, batching and init switches existed reads as what it ran: SplitMix64
    /// rows, length-bucketed batches, BERT prefix init and zero gate biases.
    func testARecordWithoutTheNewerKeysReadsAsTheBehaviourItRanWith() throws {
        let spec = try TrainingFixtures.spec("prefix")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(spec)) as? [String: Any])
        var hyperparameters = try XCTUnwrap(json["hyperparameters"] as? [String: Any])
        for key in ["split", "batching", "prefixInit", "gateBiasInit"] {
            XCTAssertNotNil(hyperparameters.removeValue(forKey: key), key)
        }
        json["hyperparameters"] = hyperparameters
        let old = try JSONDecoder().decode(TrainingSpec.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertEqual(old.hyperparameters.split, .splitmix)
        XCTAssertEqual(old.hyperparameters.batching, .lengthBuckets)
        XCTAssertEqual(old.hyperparameters.prefixInit, .bert)
        XCTAssertEqual(old.hyperparameters.gateBiasInit, .zero)
        var today = spec.hyperparameters
        today.split = .splitmix
        today.batching = .lengthBuckets
        XCTAssertEqual(old.hyperparameters, today, "every other value survives")
    }
}
