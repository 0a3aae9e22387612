@testable import Model
import Tensor
import XCTest
@testable import Training

/// A training step allocates nothing once warmed up: activation, gradient and optimiser buffers are planned when
/// the model and optimiser are made, and the batch arrays keep their capacity. Counted over every thread of the
/// process (the model's workers included) by the malloc family CAllocationCounter puts in the C library's place.
///
/// One allocation is known and allowed, and only by its exact count: with several workers each call that wakes
/// them allocates one closure context (`StepWorkers.run`: `withoutActuallyEscaping` boxes the caller's closure so
/// the helper threads can call it). The pool counts those calls, so any other allocation still fails the test,
/// and with one worker the count must be zero.
///
/// OpenBLAS's own allocations are told apart (by the calling code's address) and allowed only with the kernels
/// that make them (`AllocationCounter.blasKernelsAllocate`: a packing buffer in small SGEMMs, inside the library).
final class StepAllocationTests: XCTestCase {
    /// MiniLM's shape scaled down (2 layers, hidden 64, 4 heads) with batches big enough that the matrix products,
    /// attention, dropout masks and row kernels are all split over two workers.
    static let backbone = Backbone.random(config: BertConfig(vocabSize: 1000, hiddenSize: 64, numLayers: 2, numHeads: 4,
                                                             intermediateSize: 256, maxPositions: 64), seed: 1)

    /// The step `unipelt bench step` times plus the trainer's clip, with dropout: zero, forward, backward, clip,
    /// AdamW.
    func testModelStepAllocatesNothingAfterTwoWarmUpSteps() throws {
        let config = StepAllocationTests.backbone.config
        // A full batch and a shorter one, as dynamic padding makes.
        let batches = [try randomBatch(size: 8, seqLen: 64, vocabSize: config.vocabSize, seed: 1),
                       try randomBatch(size: 5, seqLen: 37, vocabSize: config.vocabSize, seed: 2)]
        for method in Method.allCases {
            for threads in [1, 2] {
                // A fresh model for each window, so that a retry never runs on a model the first window warmed further.
                try assertNoAllocations(threads: threads, "\(method.rawValue), \(threads) thread(s)") {
                    let model = try BertModel(backbone: StepAllocationTests.backbone,
                                              pelt: .method(method, hiddenSize: config.hiddenSize), numLabels: 2,
                                              maxBatch: 8, maxSeqLen: 64, seed: 1)
                    model.threads = threads
                    let optimizer = AdamW(parameters: model.parameters,
                                          hyperparameters: AdamW.Hyperparameters(weightDecay: 0.01))
                    func step(_ batch: Batch) throws {
                        let parameters = model.parameters
                        parameters.zeroGradients()
                        try model.forward(batch, training: true)
                        model.backward()
                        GradientClipping.clip(parameters.gradients, count: parameters.count, maxNorm: 1)
                        optimizer.step(learningRate: 1e-3)
                    }
                    try step(batches[0])
                    try step(batches[1])
                    let callsBefore = model.workers.multiWorkerCalls
                    let report = try AllocationCounter.measure {
                        for index in 0..<3 { try step(batches[index % 2]) }
                    }
                    return (report, model.workers.multiWorkerCalls - callsBefore)
                }
            }
        }
    }

    /// The trainer's own loop from the end of step 2 to the end of step 5: stop check, batch assembly from the
    /// encoded split, the step (with and without dropout), clip, AdamW, the step event and the checkpoint-interval
    /// check.
    func testTrainerStepsAllocateNothingAfterTwoWarmUpSteps() throws {
        for method in Method.allCases {
            for (threads, dropout) in [(1, true), (2, true), (1, false)] {
                // 16 examples in batches of 2: steps 3–5 sit inside the first epoch, away from any evaluation.
                let spec = try TrainingFixtures.spec(method.rawValue, ["batch_size": .integer(2),
                                                                       "dropout": .boolean(dropout)])
                try assertNoAllocations(threads: threads, "\(method.rawValue), \(threads) thread(s), dropout \(dropout)") {
                    let trainer = try TrainingFixtures.trainer(spec)
                    trainer.model.threads = threads
                    let window = StepWindow(trainer)
                    trainer.observer = window
                    guard case .stopped(.cancel, step: 5) = try trainer.run(), let report = window.report else {
                        throw WindowNeverClosed(method: method.rawValue)
                    }
                    return (report, window.multiWorkerCalls)
                }
            }
        }
    }

    private struct WindowNeverClosed: Error { let method: String }

    /// Measures a window (its report and the multi-worker calls made in it) and checks it. The counter sees every
    /// thread of the test process, and a thread an earlier test left (a child process's reaper, say) may allocate
    /// inside the window: a window that fails is measured once more, from a new model or trainer, and the test
    /// fails only if that one fails too. An allocation of the step itself repeats in every such window.
    private func assertNoAllocations(threads: Int, _ context: String, file: StaticString = #filePath, line: UInt = #line,
                                     measure: () throws -> (AllocationReport, Int)) throws {
        let (first, firstCalls) = try measure()
        guard let problem = unexpected(first, multiWorkerCalls: firstCalls, threads: threads) else { return }
        let (second, secondCalls) = try measure()
        if let again = unexpected(second, multiWorkerCalls: secondCalls, threads: threads) {
            XCTFail("\(context): \(again)\n(the window before: \(problem))", file: file, line: line)
        }
    }

    /// What is wrong with a window, if anything.
    private func unexpected(_ report: AllocationReport, multiWorkerCalls: Int, threads: Int) -> String? {
        if threads > 1, multiWorkerCalls == 0 {
            return "the workers never shared the work"
        }
        if report.allocations - report.blasAllocations != multiWorkerCalls {
            return "allocations besides the \(multiWorkerCalls) closure contexts of multi-worker calls: \(report)"
        }
        if !AllocationCounter.blasKernelsAllocate, report.blasAllocations != 0 {
            return "OpenBLAS allocated with \(BLAS.coreName) kernels: \(report)"
        }
        return nil
    }

    /// Seeded random sentence pairs with class labels.
    private func randomBatch(size: Int, seqLen: Int, vocabSize: Int, seed: UInt64) throws -> Batch {
        var rng = RNG(seed: seed)
        let ids = (0..<(size * seqLen)).map { _ in Int32(rng.next() % UInt64(vocabSize)) }
        let types = (0..<(size * seqLen)).map { Int32($0 % seqLen < seqLen / 2 ? 0 : 1) }
        let labels = (0..<size).map { _ in Int32(rng.next() % 2) }
        return try Batch(size: size, seqLen: seqLen, inputIds: ids, tokenTypeIds: types,
                         attentionMask: [Int32](repeating: 1, count: size * seqLen), labels: .classes(labels))
    }
}

/// Counts allocations from the step event of step 2 to that of step 5, then cancels the job.
private final class StepWindow: TrainingObserver {
    let trainer: Trainer
    private(set) var report: AllocationReport?
    private(set) var multiWorkerCalls = 0

    init(_ trainer: Trainer) { self.trainer = trainer }

    func trainingDidEmit(_ event: TrainingEvent) {
        guard case let .step(record) = event else { return }
        if record.step == 2 {
            multiWorkerCalls = -trainer.model.workers.multiWorkerCalls
            AllocationCounter.start()
        }
        if record.step == 5 {
            report = AllocationCounter.stop()
            multiWorkerCalls += trainer.model.workers.multiWorkerCalls
            trainer.control.requestStop(.cancel)
        }
    }
}
