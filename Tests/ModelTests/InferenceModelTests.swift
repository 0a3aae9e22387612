import Foundation
import Tensor
import XCTest
@testable import Model

/// The inference twin computes what the training model's dropout-free forward computes, from the same
/// parameters read in place, with batches larger than the training model's.
final class InferenceModelTests: XCTestCase {
    /// Every owned tensor perturbed, so zero-initialised deltas (LoRA B, adapter up) take part.
    private func trainedModel(_ method: Method, maxBatch: Int, maxSeqLen: Int) throws -> BertModel {
        let model = try BertModel(backbone: GoldenModelTests.backbone, pelt: .method(method, hiddenSize: 32),
                                  numLabels: 3, maxBatch: maxBatch, maxSeqLen: maxSeqLen, seed: 2)
        var rng = RNG(seed: 9)
        for p in model.parameters.parameters {
            let noise = UnsafeMutablePointer<Float>.allocate(capacity: p.value.count)
            defer { noise.deallocate() }
            rng.fillNormal(noise, p.value.count, std: 0.05)
            for i in 0..<p.value.count { p.value[i] += noise[i] }
        }
        return model
    }

    /// Golden batch rows repeated `copies` times, rows with their own padding.
    private func batch(copies: Int) throws -> Batch {
        let b = try Golden.batch(try Golden.file("unipelt-apl"), numLabels: 3)
        func repeated<T>(_ x: [T]) -> [T] { Array((0..<copies).map { _ in x }.joined()) }
        let labels: Labels
        if case let .classes(c) = b.labels { labels = .classes(repeated(c)) } else { return b }
        return try Batch(size: b.size * copies, seqLen: b.seqLen, inputIds: repeated(b.inputIds),
                         tokenTypeIds: repeated(b.tokenTypeIds), attentionMask: repeated(b.attentionMask), labels: labels)
    }

    func testInferenceTwinMatchesTheTrainingForwardForEveryMethod() throws {
        let small = try batch(copies: 1)
        for method in Method.allCases {
            let model = try trainedModel(method, maxBatch: small.size, maxSeqLen: small.seqLen)
            let twin = try BertModel(inferenceOf: model, maxBatch: 4 * small.size, maxSeqLen: small.seqLen,
                                     maxTokens: 4 * small.size * small.seqLen)
            let expectedLoss = try model.forward(small, training: false)
            let loss = try twin.forward(small, training: false)
            XCTAssertEqual(loss, expectedLoss, accuracy: 1e-6, "\(method)")
            let diff = zip(model.logits, twin.logits).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(diff, 1e-6, "\(method)")
            XCTAssertEqual(twin.gateValues.map(\.site), model.gateValues.map(\.site), "\(method)")
            for (a, b) in zip(model.gateValues, twin.gateValues) {
                XCTAssertLessThan(zip(a.perSample, b.perSample).map { abs($0 - $1) }.max()!, 1e-6, "\(method)")
            }

            // A batch four times the training model's, each row scored as when alone.
            try twin.forward(try batch(copies: 4), training: false)
            let big = twin.logits
            for copy in 0..<4 {
                let rows = big[(copy * model.logits.count)..<((copy + 1) * model.logits.count)]
                XCTAssertLessThan(zip(rows, model.logits).map { abs($0 - $1) }.max()!, 1e-6, "\(method) copy \(copy)")
            }
            XCTAssertLessThan(twin.activationBytes, 4 * model.activationBytes, "\(method): no backward buffers")
        }
    }

    func testTheTwinReadsTheTrainedParametersInPlace() throws {
        let b = try batch(copies: 1)
        let model = try trainedModel(.lora, maxBatch: b.size, maxSeqLen: b.seqLen)
        let twin = try BertModel(inferenceOf: model, maxBatch: b.size, maxSeqLen: b.seqLen, maxTokens: b.size * b.seqLen)
        try twin.forward(b, training: false)
        let before = twin.logits
        let bias = try model.parameters.parameter(named: "classifier.bias")
        bias.value[1] += 1
        try twin.forward(b, training: false)
        XCTAssertEqual(twin.logits[1], before[1] + 1, accuracy: 1e-5)
        XCTAssertEqual(twin.logits[0], before[0], accuracy: 1e-6)
    }

    func testTheTwinRefusesBatchesOverItsTokenBudget() throws {
        let b = try batch(copies: 2)
        let model = try trainedModel(.lora, maxBatch: 2, maxSeqLen: b.seqLen)
        let twin = try BertModel(inferenceOf: model, maxBatch: b.size, maxSeqLen: b.seqLen,
                                 maxTokens: b.size * b.seqLen - 1)
        XCTAssertThrowsError(try twin.forward(b, training: false))
    }
}
