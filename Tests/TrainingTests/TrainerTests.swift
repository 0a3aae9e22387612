import Foundation
import Model
import Tensor
import Text
import XCTest
@testable import Training

final class TrainerTests: XCTestCase {
    private func run(_ spec: TrainingSpec, directory: String? = nil) throws -> (TrainingResult, EventRecorder) {
        let trainer = try TrainingFixtures.trainer(spec, checkpointDirectory: directory)
        let recorder = EventRecorder()
        trainer.observer = recorder
        guard case let .finished(result) = try trainer.run() else { throw XCTSkip("not finished") }
        return (result, recorder)
    }

    func testLossGoesDown() throws {
        let spec = try TrainingFixtures.spec("lora", ["epochs": .integer(8), "dropout": .boolean(false),
                                                      "early_stopping_patience": .integer(0)])
        let (result, recorder) = try run(spec)
        let losses = recorder.evaluations.map(\.trainLoss)
        XCTAssertEqual(losses.count, 8)
        XCTAssertLessThan(losses.last!, losses.first! * 0.6, "train loss per epoch: \(losses)")
        XCTAssertEqual(result.stepsRun, 8 * 2)
        XCTAssertEqual(recorder.steps.map(\.step), Array(1...16))
        XCTAssertEqual(recorder.steps.first?.learningRate, 2e-2)
        XCTAssertEqual(recorder.steps.last!.learningRate, 2e-2 / 16, accuracy: 1e-12, "linear decay, no warmup")
    }

    func testEvaluationRecordsMetricsGatesAndTheBestStateGivesTheResult() throws {
        let spec = try TrainingFixtures.spec("unipelt-apl", ["epochs": .integer(3)])
        let (result, recorder) = try run(spec)
        let evaluations = recorder.evaluations
        XCTAssertEqual(evaluations.count, 3)
        for record in evaluations {
            XCTAssertEqual(Set(record.devMetrics.keys), ["accuracy"])
            XCTAssertEqual(record.devMetric, record.devMetrics["accuracy"])
            XCTAssertTrue(record.devLoss.isFinite)
            // 2 layers × (adapter, prefix, LoRA query, LoRA value) gates, each a mean of sigmoids.
            XCTAssertEqual(record.gates.map { "\($0.layer)\($0.submodule)" }, ["0A", "0P", "0Lq", "0Lv", "1A", "1P", "1Lq", "1Lv"])
            XCTAssertTrue(record.gates.allSatisfy { $0.mean > 0 && $0.mean < 1 })
        }
        let best = evaluations.filter(\.isBest).last!
        XCTAssertEqual(result.bestStep, best.step)
        XCTAssertTrue(evaluations.allSatisfy { $0.testMetric == nil && $0.testMetrics.isEmpty },
                      "the test split is scored once, at the end")
        XCTAssertEqual(result.testMetrics.keys.sorted(), ["accuracy"])
        XCTAssertEqual(result.bestDevMetric, evaluations.map(\.devMetric).max())
        XCTAssertEqual(result.metric, "accuracy")
    }

    func testUngatedMethodsReportNoGates() throws {
        let (_, recorder) = try run(try TrainingFixtures.spec("lora", ["epochs": .integer(1)]))
        XCTAssertEqual(recorder.evaluations.first?.gates, [])
    }

    func testFinishRestoresTheBestStateForTheTestEvaluation() throws {
        let spec = try TrainingFixtures.spec("adapter", ["epochs": .integer(5), "learning_rate": .number(5e-2),
                                                         "dropout": .boolean(false)])
        let trainer = try TrainingFixtures.trainer(spec)
        let recorder = EventRecorder()
        trainer.observer = recorder
        guard case let .finished(result) = try trainer.run() else { return XCTFail("not finished") }
        XCTAssertNotEqual(result.bestStep, result.stepsRun, "the test must restore an older state; pick another lr")
        // Scored again in other batches (three at a time, by length) on the restored state.
        let plan = EvaluationPlan(lengths: trainer.data.test.lengths, padding: .dynamic, maxSeqLength: 128,
                                  tokenBudget: .max, maxBatch: 3, fixedBatchSize: 3)
        let test = try trainer.evaluate(trainer.data.test, plan: plan, collectGates: false)
        XCTAssertEqual(test.report.primary, result.testMetric)
    }

    /// Scoring the test split once on the restored best-dev state gives the result that scoring it at every
    /// evaluation and taking the best evaluation's value gives.
    func testTestSplitScoredOnceGivesTheResultOfScoringItEveryEvaluation() throws {
        for method in ["unipelt-apl", "adapter"] {
            let settings: [String: HyperparameterValue] = ["epochs": .integer(5), "learning_rate": .number(5e-2),
                                                           "dropout": .boolean(false)]
            let (once, onceEvents) = try run(try TrainingFixtures.spec(method, settings))
            var everySettings = settings
            everySettings["test_every_eval"] = .boolean(true)
            let (every, everyEvents) = try run(try TrainingFixtures.spec(method, everySettings))
            XCTAssertNotEqual(once.bestStep, once.stepsRun, "\(method): the best state must be an older one")
            XCTAssertEqual(once, every, method)
            XCTAssertEqual(everyEvents.evaluations.first { $0.step == every.bestStep }?.testMetric, every.testMetric)
            XCTAssertEqual(onceEvents.evaluations.map(\.devMetric), everyEvents.evaluations.map(\.devMetric))
            XCTAssertTrue(everyEvents.evaluations.allSatisfy { $0.testMetric != nil }, method)
        }
    }

    func testEarlyStoppingStopsAfterPatienceEvaluationsWithoutImprovement() throws {
        // A learning rate too small to change any prediction: the dev metric never improves after the first.
        let spec = try TrainingFixtures.spec("bitfit", ["epochs": .integer(20), "early_stopping_patience": .integer(2),
                                                        "learning_rate": .number(1e-7)])
        let (result, recorder) = try run(spec)
        XCTAssertTrue(result.stoppedEarly)
        XCTAssertEqual(recorder.evaluations.map(\.isBest), [true, false, false])
        XCTAssertEqual(result.epochsRun, 3)
        XCTAssertEqual(result.bestStep, 2)
        guard case .finished? = recorder.events.last else { return XCTFail("last event \(recorder.events.last!)") }
    }

    func testEvaluationEveryNSteps() throws {
        let spec = try TrainingFixtures.spec("lora", ["epochs": .integer(2), "eval_every_steps": .integer(3)])
        let (_, recorder) = try run(spec)
        // 4 steps: evaluations at 3, and at the end (4) so the last steps count for selection.
        XCTAssertEqual(recorder.evaluations.map(\.step), [3, 4])
        XCTAssertEqual(recorder.evaluations.map(\.epoch), [1, 2])
    }

    func testSameSpecSameResult() throws {
        let spec = try TrainingFixtures.spec("unipelt-apl", ["epochs": .integer(2)])
        let (first, firstEvents) = try run(spec)
        let (second, secondEvents) = try run(spec)
        XCTAssertEqual(first, second)
        XCTAssertEqual(firstEvents.steps.map(\.loss), secondEvents.steps.map(\.loss))
        XCTAssertEqual(firstEvents.evaluations, secondEvents.evaluations)
        let otherSeed = try run(try TrainingFixtures.spec("unipelt-apl", seed: 2, ["epochs": .integer(2)]))
        XCTAssertNotEqual(otherSeed.1.steps.map(\.loss), firstEvents.steps.map(\.loss))
    }

    func testNaNLossStopsWithATypedError() throws {
        let trainer = try TrainingFixtures.trainer(try TrainingFixtures.spec("lora"))
        let recorder = EventRecorder()
        trainer.observer = recorder
        let bias = try trainer.model.parameters.parameter(named: "classifier.bias")
        bias.value[0] = .nan
        XCTAssertThrowsError(try trainer.run()) { error in
            guard case let .nanLoss(step, epoch, quantity, value)? = error as? TrainingError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual((error as! TrainingError).code, "nan_loss")
            XCTAssertEqual([step, epoch], [1, 0])
            XCTAssertEqual(quantity, "loss")
            XCTAssertTrue(value.isNaN)
        }
        guard case let .failed(error)? = recorder.events.last else { return XCTFail("no failed event") }
        XCTAssertEqual(error.code, "nan_loss")
        XCTAssertTrue(recorder.steps.isEmpty)
    }

    /// Outputs that are not finite would still give a plausible metric (every argmax class 0): an evaluation
    /// in that state fails the job instead of being scored.
    func testANonFiniteEvaluationIsATypedError() throws {
        let trainer = try TrainingFixtures.trainer(try TrainingFixtures.spec("lora"))
        let bias = try trainer.model.parameters.parameter(named: "classifier.bias")
        bias.value[0] = .nan
        XCTAssertThrowsError(try trainer.evaluate(trainer.data.dev, plan: trainer.devPlan, collectGates: false)) { error in
            guard case let .nanLoss(_, _, quantity, value)? = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertEqual(quantity, "evaluation loss")
            XCTAssertTrue(value.isNaN)
        }
    }
}
