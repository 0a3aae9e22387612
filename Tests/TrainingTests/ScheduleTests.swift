import XCTest
@testable import Training

final class ScheduleTests: XCTestCase {
    func testLinearDecayWithoutWarmupStartsAtPeakAndEndsAtZero() {
        let schedule = LearningRateSchedule(peak: 1e-3, totalSteps: 10, warmupRatio: 0)
        XCTAssertEqual(schedule.warmupSteps, 0)
        XCTAssertEqual(schedule.rate(atStep: 0), 1e-3, accuracy: 1e-15)
        XCTAssertEqual(schedule.rate(atStep: 5), 5e-4, accuracy: 1e-15)
        XCTAssertEqual(schedule.rate(atStep: 9), 1e-4, accuracy: 1e-15)
        XCTAssertEqual(schedule.rate(atStep: 10), 0)
        XCTAssertEqual(schedule.rate(atStep: 12), 0, "never negative past the end")
    }

    func testWarmupRisesLinearlyThenDecays() {
        // 10% of 25 steps = 2.5, rounded up to 3 (HF get_warmup_steps).
        let schedule = LearningRateSchedule(peak: 2.0, totalSteps: 25, warmupRatio: 0.1)
        XCTAssertEqual(schedule.warmupSteps, 3)
        XCTAssertEqual((0...4).map { schedule.rate(atStep: $0) }, [0, 2.0 / 3, 4.0 / 3, 2.0, 2.0 * 21 / 22])
    }
}

final class EarlyStoppingTests: XCTestCase {
    func testStopsAfterPatienceEvaluationsWithoutStrictImprovement() {
        var stopping = EarlyStopping(patience: 2)
        XCTAssertTrue(stopping.record(metric: 0.5, step: 10))
        XCTAssertFalse(stopping.record(metric: 0.5, step: 20), "equal is not better")
        XCTAssertFalse(stopping.shouldStop)
        XCTAssertTrue(stopping.record(metric: 0.6, step: 30))
        XCTAssertEqual(stopping.evaluationsWithoutImprovement, 0)
        XCTAssertFalse(stopping.record(metric: 0.1, step: 40))
        XCTAssertFalse(stopping.record(metric: 0.59, step: 50))
        XCTAssertTrue(stopping.shouldStop)
        XCTAssertEqual(stopping.best, 0.6)
        XCTAssertEqual(stopping.bestStep, 30)
    }

    func testZeroPatienceNeverStops() {
        var stopping = EarlyStopping(patience: 0)
        _ = stopping.record(metric: 1, step: 1)
        for step in 2...20 { _ = stopping.record(metric: 0, step: step) }
        XCTAssertFalse(stopping.shouldStop)
    }

    func testNaNFirstMetricIsReplacedByTheFirstNumber() {
        var stopping = EarlyStopping(patience: 3)
        XCTAssertTrue(stopping.record(metric: .nan, step: 1))
        XCTAssertFalse(stopping.record(metric: .nan, step: 2))
        XCTAssertTrue(stopping.record(metric: -0.2, step: 3))
        XCTAssertFalse(stopping.record(metric: .nan, step: 4))
        XCTAssertEqual(stopping.best, -0.2)
    }
}

final class HyperparameterTests: XCTestCase {
    func testPerMethodLearningRatesAndDefaults() throws {
        let expected: [String: Double] = ["finetune": 2e-5, "bitfit": 1e-4, "adapter": 1e-4, "prefix": 2e-4,
                                          "lora": 5e-4, "unipelt-ap": 5e-4, "unipelt-apl": 5e-4,
                                          "unipelt-apl-nogate": 5e-4]
        for method in HyperparameterTable.methods {
            XCTAssertEqual(try Hyperparameters(method: method).learningRate, expected[method], method)
            XCTAssertEqual(try HyperparameterTable.spec(named: "learning_rate").defaultValue(for: method),
                           .number(expected[method]!))
        }
        let defaults = try Hyperparameters(method: "unipelt-apl")
        XCTAssertEqual(defaults.batchSize, 16)
        XCTAssertEqual(defaults.epochs, 50)
        XCTAssertEqual(defaults.earlyStoppingPatience, 10)
        XCTAssertEqual(defaults.maxSeqLength, 128)
        XCTAssertEqual(defaults.maxGradNorm, 1)
        XCTAssertEqual(defaults.weightDecay, 0)
        XCTAssertEqual(defaults.warmupRatio, 0)
        XCTAssertEqual(defaults.padding, .dynamic)
    }

    func testTableDefaultsMatchTheResolvedValues() throws {
        for method in HyperparameterTable.methods {
            let resolved = try Hyperparameters(method: method).values
            XCTAssertEqual(resolved.map(\.name), HyperparameterTable.names, "values() lists every row in order")
            for (spec, value) in zip(HyperparameterTable.all, resolved) {
                XCTAssertEqual(spec.defaultValue(for: method), value.value, "\(method) \(spec.name)")
            }
        }
    }

    func testOverridesAreCheckedAndNamed() throws {
        var hp = try Hyperparameters(method: "lora", overrides: ["epochs": .number(3), "padding": .string("max_length"),
                                                                  "learning_rate": .integer(1)])
        XCTAssertEqual(hp.epochs, 3)
        XCTAssertEqual(hp.padding, .maxLength)
        XCTAssertEqual(hp.learningRate, 1)
        XCTAssertThrowsError(try hp.set("epochs", .number(2.5))) { error in
            XCTAssertEqual((error as? TrainingError)?.code, "invalid_hyperparameter")
        }
        XCTAssertThrowsError(try hp.set("batch_size", .integer(0)))
        XCTAssertThrowsError(try hp.set("gate_pooling", .string("mean")))
        XCTAssertThrowsError(try Hyperparameters(method: "lora", overrides: ["lr": .number(1)])) { error in
            guard case let .unknownHyperparameter(name, allowed)? = error as? TrainingError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(name, "lr")
            XCTAssertEqual(allowed, HyperparameterTable.names)
        }
        XCTAssertThrowsError(try Hyperparameters(method: "ia3")) { error in
            XCTAssertEqual((error as? TrainingError)?.code, "unknown_method")
        }
    }

    func testCommandLineSettingsParseByKind() throws {
        let hp = try Hyperparameters(method: "adapter", settings: [("adapter_bottleneck", "24"), ("dropout", "off"),
                                                                    ("weight_decay", "0.01")])
        XCTAssertEqual(hp.adapterBottleneck, 24)
        XCTAssertFalse(hp.dropout)
        XCTAssertEqual(hp.weightDecay, 0.01)
        XCTAssertThrowsError(try Hyperparameters(method: "adapter", settings: [("epochs", "ten")]))
    }
}
