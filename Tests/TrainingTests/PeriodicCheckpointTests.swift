import Foundation
import XCTest
@testable import Training
import TestSupport

/// Periodic `last` checkpoints between evaluations, driven by an injected clock that moves a fixed number of
/// seconds per step, so no test waits and every run writes at the same steps.
final class PeriodicCheckpointTests: XCTestCase {
    /// 16 examples in batches of 2: 8 steps per epoch, an evaluation at steps 8 and 16.
    private func spec(_ method: String = "lora", _ overrides: [String: HyperparameterValue] = [:]) throws -> TrainingSpec {
        var settings: [String: HyperparameterValue] = ["epochs": .integer(2), "batch_size": .integer(2),
                                                       "learning_rate": .number(5e-2)]
        settings.merge(overrides) { $1 }
        return try TrainingFixtures.spec(method, settings)
    }

    /// A recorder whose steps each advance the trainer's clock by `secondsPerStep`.
    private final class ClockedRecorder: TrainingObserver {
        let recorder = EventRecorder()
        let secondsPerStep: Double
        var now = 0.0

        init(secondsPerStep: Double) { self.secondsPerStep = secondsPerStep }

        func trainingDidEmit(_ event: TrainingEvent) {
            if case .step = event { now += secondsPerStep }
            recorder.trainingDidEmit(event)
        }
    }

    private func clockedTrainer(_ spec: TrainingSpec, secondsPerStep: Double, directory: String,
                                control: TrainingControl = TrainingControl()) throws -> (Trainer, ClockedRecorder) {
        let trainer = try TrainingFixtures.trainer(spec, checkpointDirectory: directory, control: control)
        let observer = ClockedRecorder(secondsPerStep: secondsPerStep)
        trainer.observer = observer
        trainer.clock = { [unowned observer] in observer.now }
        return (trainer, observer)
    }

    private func periodicSteps(_ recorder: EventRecorder) -> [Int] {
        recorder.checkpoints.filter { $0.reason == .periodic }.map(\.step)
    }

    func testLastIsWrittenOnceTheIntervalPassedSinceThePreviousOne() throws {
        let (trainer, observer) = try clockedTrainer(try spec("lora", ["checkpoint_every_seconds": .number(10)]),
                                                     secondsPerStep: 4, directory: makeTemporaryDirectory("unipelt-training").path)
        guard case .finished = try trainer.run() else { return XCTFail("the run must finish") }
        // 4 s per step: due at step 3 (12 s) and 6; the evaluation at step 8 restarts the interval, so 11 and 14.
        XCTAssertEqual(periodicSteps(observer.recorder), [3, 6, 11, 14])
        let periodic = observer.recorder.checkpoints.filter { $0.reason == .periodic }
        XCTAssertTrue(periodic.allSatisfy { $0.name == "last" && $0.bytes > 0 }, "\(periodic)")
        XCTAssertEqual(Set(observer.recorder.checkpoints.filter { $0.reason != .periodic }.map(\.reason)), [.evaluation])
    }

    func testZeroWritesOnlyAtEvaluationsAndTheJobsValueWinsOverTheDefault() throws {
        let (off, offEvents) = try clockedTrainer(try spec("lora", ["checkpoint_every_seconds": .number(0)]), secondsPerStep: 4,
                                                  directory: makeTemporaryDirectory("unipelt-training").path)
        off.defaultCheckpointEverySeconds = 1
        _ = try off.run()
        XCTAssertEqual(periodicSteps(offEvents.recorder), [], "the job's 0 wins over a default of 1 s")
        XCTAssertEqual(offEvents.recorder.checkpoints.filter { $0.name == "last" }.map(\.step), [8, 16])

        let (byDefault, defaultEvents) = try clockedTrainer(try spec(), secondsPerStep: 4,
                                                            directory: makeTemporaryDirectory("unipelt-training").path)
        byDefault.defaultCheckpointEverySeconds = 10
        _ = try byDefault.run()
        XCTAssertEqual(periodicSteps(defaultEvents.recorder), [3, 6, 11, 14], "no job value: the default applies")
    }

    func testFullFineTuningWritesNoMoreOftenThanItsEvaluations() throws {
        // Evaluations every 4 steps (9 s) write `last` before the 10 s interval is ever reached.
        let spec = try spec("finetune", ["checkpoint_every_seconds": .number(10), "eval_every_steps": .integer(4),
                                         "epochs": .integer(1), "learning_rate": .number(1e-3)])
        let (trainer, observer) = try clockedTrainer(spec, secondsPerStep: 2.25,
                                                     directory: makeTemporaryDirectory("unipelt-training").path)
        _ = try trainer.run()
        XCTAssertEqual(periodicSteps(observer.recorder), [])
        XCTAssertEqual(observer.recorder.checkpoints.filter { $0.name == "last" }.map(\.step), [4, 8],
                       "one per evaluation")
    }

    /// A crash (here: a cancel, which writes nothing) after the mid-epoch periodic checkpoint of step 6: the run
    /// resumed from it replays step 7 onwards and ends exactly as the uninterrupted run.
    func testResumeFromAMidEpochPeriodicCheckpointEqualsTheUninterruptedRun() throws {
        let spec = try spec("unipelt-apl", ["checkpoint_every_seconds": .number(10)])
        let (reference, referenceEvents) = try clockedTrainer(spec, secondsPerStep: 4,
                                                              directory: makeTemporaryDirectory("unipelt-training").path)
        guard case let .finished(expected) = try reference.run() else { return XCTFail("the reference must finish") }

        let directory = try makeTemporaryDirectory("unipelt-training").path
        let control = TrainingControl()
        let (first, firstEvents) = try clockedTrainer(spec, secondsPerStep: 4, directory: directory, control: control)
        firstEvents.recorder.stopAt = (7, .cancel, control)
        guard case .stopped(.cancel, step: 7) = try first.run() else { return XCTFail("cancelled after step 7") }
        XCTAssertEqual(periodicSteps(firstEvents.recorder), [3, 6])

        // Another interval on resume is fine: it changes nothing that is trained.
        let resumedSpec = try self.spec("unipelt-apl", ["checkpoint_every_seconds": .number(0)])
        let second = try TrainingFixtures.trainer(resumedSpec, checkpointDirectory: directory)
        let after = EventRecorder()
        second.observer = after
        guard case let .finished(result) = try second.run(resumingFrom: directory + "/last.safetensors") else {
            return XCTFail("the resumed run must finish")
        }
        XCTAssertEqual(after.steps.first?.step, 7, "resumes at the periodic checkpoint of step 6")
        XCTAssertEqual(after.steps.first?.epoch, 0, "within the first epoch")
        let losses = firstEvents.recorder.steps.prefix(6).map(\.loss) + after.steps.map(\.loss)
        XCTAssertEqual(losses, referenceEvents.recorder.steps.map(\.loss))
        XCTAssertEqual(second.state.evaluations, reference.state.evaluations)
        XCTAssertEqual(result, expected)
    }
}
