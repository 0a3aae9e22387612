import Foundation
import Checksum
import Model
import Tensor
import XCTest
@testable import Training
import TestSupport

final class CheckpointTests: XCTestCase {
    /// A run with dropout on (so the dropout RNG must be restored too) over 4 epochs of 2 steps.
    private func spec(_ method: String = "lora") throws -> TrainingSpec {
        try TrainingFixtures.spec(method, ["epochs": .integer(4), "learning_rate": .number(5e-2)])
    }

    private func uninterrupted(_ spec: TrainingSpec) throws -> (Trainer, EventRecorder, TrainingResult) {
        let trainer = try TrainingFixtures.trainer(spec, checkpointDirectory: makeTemporaryDirectory("unipelt-training").path)
        let recorder = EventRecorder()
        trainer.observer = recorder
        guard case let .finished(result) = try trainer.run() else { throw TrainingError.cancelled(step: -1) }
        return (trainer, recorder, result)
    }

    /// Stops a run with `request` right after `step`, then resumes a fresh trainer from its `last` checkpoint;
    /// returns the losses of both runs joined at the resume point (the uninterrupted run's sequence if resume is
    /// exact), the resumed trainer, its events and its result.
    private func interruptedAndResumed(_ spec: TrainingSpec, after step: Int, _ request: StopRequest,
                                       resumesAfterStep: Int, directory: String)
        throws -> ([Float], Trainer, EventRecorder, TrainingResult) {
        let control = TrainingControl()
        let first = try TrainingFixtures.trainer(spec, checkpointDirectory: directory, control: control)
        let before = EventRecorder()
        before.stopAt = (step, request, control)
        first.observer = before
        guard case let .stopped(stopRequest, stoppedAt) = try first.run() else {
            throw TrainingError.cancelled(step: -1)
        }
        XCTAssertEqual(stopRequest, request)
        XCTAssertEqual(stoppedAt, step, "stops within one step or evaluation batch")
        guard case .stopped? = before.events.last else { throw TrainingError.cancelled(step: -2) }

        let second = try TrainingFixtures.trainer(spec, checkpointDirectory: directory)
        let after = EventRecorder()
        second.observer = after
        guard case let .finished(result) = try second.run(resumingFrom: directory + "/last.safetensors") else {
            throw TrainingError.cancelled(step: -3)
        }
        XCTAssertEqual(after.steps.first?.step, resumesAfterStep + 1)
        let losses = before.steps.filter { $0.step <= resumesAfterStep }.map(\.loss) + after.steps.map(\.loss)
        return (losses, second, after, result)
    }

    /// Interrupts a run of `spec` with `request` after `step` and resumes it: the joined losses, the evaluations
    /// and the result equal the uninterrupted run's. Returns the resumed run's events for further checks.
    @discardableResult
    private func assertResumeEqualsUninterrupted(_ spec: TrainingSpec, after step: Int, _ request: StopRequest,
                                                 resumesAfterStep: Int, file: StaticString = #filePath,
                                                 line: UInt = #line) throws -> EventRecorder {
        let (reference, events, result) = try uninterrupted(spec)
        let (losses, resumed, after, resumedResult) = try interruptedAndResumed(
            spec, after: step, request, resumesAfterStep: resumesAfterStep, directory: makeTemporaryDirectory("unipelt-training").path)
        assertSame(losses, events, file: file, line: line)
        XCTAssertEqual(resumed.state.evaluations, reference.state.evaluations, file: file, line: line)
        XCTAssertEqual(resumedResult, result, file: file, line: line)
        return after
    }

    private func assertSame(_ losses: [Float], _ reference: EventRecorder, file: StaticString = #filePath,
                            line: UInt = #line) {
        XCTAssertEqual(losses.count, reference.steps.count, file: file, line: line)
        for (a, b) in zip(losses, reference.steps.map(\.loss)) {
            XCTAssertEqual(a, b, accuracy: 1e-6, file: file, line: line)
        }
    }

    func testResumeAfterAMidEpochSuspensionEqualsTheUninterruptedRun() throws {
        // Step 3 is the first batch of epoch 1: the position within the epoch must be restored.
        try assertResumeEqualsUninterrupted(try spec(), after: 3, .suspend, resumesAfterStep: 3)
    }

    /// Both batchings plan an epoch from the data-order RNG saved at its start, so a suspension in the middle of
    /// a later epoch (4 batches per epoch, stopped after step 6) resumes exactly.
    func testResumeEqualsTheUninterruptedRunWithEitherBatching() throws {
        for batching in Batching.allCases {
            let spec = try TrainingFixtures.spec("lora", ["epochs": .integer(3), "learning_rate": .number(5e-2),
                                                          "batch_size": .integer(4), "batching": .string(batching.rawValue)])
            try assertResumeEqualsUninterrupted(spec, after: 6, .suspend, resumesAfterStep: 6)
        }
    }

    func testSuspensionDuringAnEvaluationResumesWithThatEvaluation() throws {
        // Step 4 ends epoch 2: the request lands in its evaluation, which the resumed run does first.
        let after = try assertResumeEqualsUninterrupted(try spec("unipelt-apl"), after: 4, .suspend, resumesAfterStep: 4)
        XCTAssertEqual(after.evaluations.first?.step, 4)
    }

    func testCancelAbandonsTheRunningEvaluationAndAKilledJobResumesFromTheLastCheckpoint() throws {
        // Cancelled in the epoch-2 evaluation: nothing is written, so `last` is the one of step 2, as after a
        // crash; the resumed run replays steps 3 and 4.
        try assertResumeEqualsUninterrupted(try spec("unipelt-apl"), after: 4, .cancel, resumesAfterStep: 2)
    }

    func testCheckpointRestoresEveryTensorAndState() throws {
        let spec = try spec("unipelt-apl")
        let (trainer, events, _) = try uninterrupted(spec)
        let directory = trainer.checkpointDirectory!
        let last = directory + "/last.safetensors"

        // Events describe the files as written.
        let written = events.checkpoints
        XCTAssertEqual(Set(written.map(\.name)), ["best", "last"])
        XCTAssertEqual(written.filter { $0.name == "last" }.map(\.step), [2, 4, 6, 8])
        // The latest record of each name describes the file now on disk.
        for name in ["best", "last"] {
            let record = written.last { $0.name == name }!
            XCTAssertEqual(record.sha256, try SHA256.hex(fileAt: record.path))
            XCTAssertEqual(record.bytes, try FileManager.default.attributesOfItem(atPath: record.path)[.size] as? Int)
        }

        let restored = try TrainingFixtures.trainer(spec, checkpointDirectory: directory)
        try restored.restore(from: last)
        XCTAssertEqual(restored.state, trainer.state)
        XCTAssertEqual(restored.optimizer.stepCount, 8)
        let count = trainer.model.parameters.count
        func array(_ p: UnsafeMutablePointer<Float>) -> [Float] { Array(UnsafeBufferPointer(start: p, count: count)) }
        XCTAssertEqual(array(restored.optimizer.firstMoment), array(trainer.optimizer.firstMoment))
        XCTAssertEqual(array(restored.optimizer.secondMoment), array(trainer.optimizer.secondMoment))
        XCTAssertEqual(array(restored.bestValues), array(trainer.bestValues))

        let file = try Safetensors.read(path: last)
        for p in restored.model.parameters.parameters {
            XCTAssertEqual(Array(p.value), file.tensors[p.name]?.toArray(), p.name)
        }
        XCTAssertEqual(file.metadata["method"], "unipelt-apl")
        XCTAssertEqual(file.metadata["format"], Trainer.checkpointFormat)
        // The folded prefix: L = 10 rows of 2 · layers · hidden.
        XCTAssertEqual(file.tensors[Trainer.foldedPrefixName]?.shape.dims, [10, 2 * 2 * 32])

        let best = try Safetensors.read(path: directory + "/best.safetensors")
        for p in trainer.model.parameters.parameters {
            let offset = p.value.baseAddress! - trainer.model.parameters.values
            XCTAssertEqual(best.tensors[p.name]?.toArray(),
                           Array(UnsafeBufferPointer(start: trainer.bestValues + offset, count: p.value.count)))
        }
    }

    func testResumeRefusesACheckpointOfAnotherSpec() throws {
        let (trainer, _, _) = try uninterrupted(try spec())
        let other = try TrainingFixtures.trainer(try TrainingFixtures.spec("lora", seed: 2, ["epochs": .integer(4)]))
        XCTAssertThrowsError(try other.run(resumingFrom: trainer.checkpointPath("last")!)) { error in
            XCTAssertEqual((error as? TrainingError)?.code, "invalid_checkpoint")
        }
        XCTAssertThrowsError(try other.run(resumingFrom: "/nonexistent/last.safetensors")) { error in
            XCTAssertEqual(error as? TrainingError, .missingData(path: "/nonexistent/last.safetensors"))
        }
    }

    /// A checkpoint written after the first of two batches of an epoch cannot resume a run whose training data
    /// shrank to one batch an epoch (a task file replaced mid-job): it is refused, not resumed past the end.
    func testResumeRefusesAPositionPastTheEndOfAnEpochOfThisData() throws {
        let directory = try makeTemporaryDirectory("unipelt-training").path
        let control = TrainingControl()
        let first = try TrainingFixtures.trainer(try spec(), checkpointDirectory: directory, control: control)
        let recorder = EventRecorder()
        recorder.stopAt = (1, .suspend, control)
        first.observer = recorder
        guard case .stopped(.suspend, step: 1) = try first.run() else { return XCTFail("not suspended after step 1") }
        let shrunk = try Trainer(spec: try spec(), backbone: TrainingFixtures.backbone,
                                 data: try TrainingFixtures.data(k: 8, maxSeqLength: 16), checkpointDirectory: directory)
        XCTAssertEqual(shrunk.batchesPerEpoch, 1)
        XCTAssertThrowsError(try shrunk.run(resumingFrom: directory + "/last.safetensors")) { error in
            XCTAssertEqual((error as? TrainingError)?.code, "invalid_checkpoint", "\(error)")
        }
    }
}
