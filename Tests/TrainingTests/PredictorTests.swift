import Foundation
import Model
import Text
import XCTest
@testable import Training
import TestSupport

final class PredictorTests: XCTestCase {
    /// Trains `method` on `task` for one epoch and returns the trainer (holding its best state, as the best
    /// checkpoint does) and a predictor loaded from that checkpoint.
    private func trained(_ method: String, _ task: GLUETask) throws -> (Trainer, Predictor) {
        let spec = try TrainingFixtures.spec(method, task: task, ["epochs": .integer(1)])
        let directory = try makeTemporaryDirectory("unipelt-training").path
        let trainer = try TrainingFixtures.trainer(spec, checkpointDirectory: directory)
        _ = try trainer.run()
        let checkpoint = try JobCheckpoint.read(path: directory + "/best.safetensors")
        XCTAssertEqual(checkpoint.spec, spec)
        return (trainer, try Predictor(checkpoint: checkpoint, backbone: TrainingFixtures.backbone,
                                       tokenizer: TrainingFixtures.tokenizer))
    }

    /// The dev split's logits as evaluation computes them: its batches, its model, no dropout.
    private func evaluationLogits(_ trainer: Trainer) throws -> [[Float]] {
        let split = trainer.data.dev, labels = trainer.task.numberOfLabels
        let flat = try trainer.evaluator.logits(split, plan: trainer.devPlan)
        return (0..<split.count).map { Array(flat[$0 * labels..<($0 + 1) * labels]) }
    }

    func testPredictionsAreEvaluationsLogitsForEveryMethod() throws {
        for (method, task) in [("unipelt-apl", GLUETask.rte), ("lora", .sst2), ("prefix", .stsb), ("bitfit", .mrpc)] {
            let (trainer, predictor) = try trained(method, task)
            let dev = try TrainingFixtures.split(task).dev
            let predictions = try predictor.predict(dev.map { PredictionInput(text: $0.text, pair: $0.pair) })
            XCTAssertEqual(predictions.map(\.logits), try evaluationLogits(trainer), "\(method) on \(task)")
            if task.isRegression {
                XCTAssertEqual(predictions.map(\.score), predictions.map { Double($0.logits[0]) })
            } else {
                guard case let .categories(_, names) = task.labelKind else { return XCTFail() }
                for prediction in predictions {
                    XCTAssertEqual(prediction.probabilities.reduce(0, +), 1, accuracy: 1e-9)
                    let top = prediction.probabilities.indices.max { prediction.probabilities[$0] < prediction.probabilities[$1] }!
                    XCTAssertEqual(prediction.label, names[top])
                }
            }
        }
    }

    func testLimitsNameTheField() throws {
        let (_, predictor) = try trained("lora", .sst2)
        let limits = predictor.limits
        XCTAssertThrowsError(try predictor.predict([])) { XCTAssertEqual(($0 as? PredictionError)?.field, "inputs") }
        let many = Array(repeating: PredictionInput(text: "a"), count: limits.maxInputs + 1)
        XCTAssertThrowsError(try predictor.predict(many)) {
            XCTAssertEqual($0 as? PredictionError, .tooManyInputs(count: limits.maxInputs + 1, limit: limits.maxInputs))
        }
        let long = String(repeating: "b", count: limits.maxTextCharacters + 1)
        XCTAssertThrowsError(try predictor.predict([PredictionInput(text: "fine"), PredictionInput(text: long)])) {
            XCTAssertEqual(($0 as? PredictionError)?.field, "inputs[1][0]")
        }
        // SST-2 takes one sentence: a pair is refused rather than scored as an input the model never saw.
        XCTAssertThrowsError(try predictor.predict([PredictionInput(text: "fine"), PredictionInput(text: "ok", pair: "ok")])) {
            XCTAssertEqual($0 as? PredictionError, .wrongTextCount(field: "inputs[1]", count: 2, task: .sst2))
            XCTAssertEqual(($0 as? PredictionError)?.description, "inputs[1]: sst2 takes one text, got 2")
        }
    }
}
