import Foundation
import Tensor
import XCTest
@testable import Model

final class ModelBehaviourTests: XCTestCase {
    private func batch(paddedTo T: Int) throws -> Batch {
        let b = try Golden.batch(try Golden.file("unipelt-apl"), numLabels: 3)
        let extra = T - b.seqLen
        func pad(_ x: [Int32]) -> [Int32] {
            (0..<b.size).flatMap { Array(x[($0 * b.seqLen)..<(($0 + 1) * b.seqLen)]) + [Int32](repeating: 0, count: extra) }
        }
        return try Batch(size: b.size, seqLen: T, inputIds: pad(b.inputIds), tokenTypeIds: pad(b.tokenTypeIds),
                         attentionMask: pad(b.attentionMask), labels: b.labels)
    }

    /// Masked gate pooling (the default) makes gates and logits independent of the padding length;
    /// the reference's unmasked pooling does not.
    func testMaskedGatesIgnorePadding() throws {
        for pooling in [GatePooling.masked, .unmasked] {
            var pelt = PELTConfig.method(.unipeltAPL, hiddenSize: 32)
            pelt.gatePooling = pooling
            let model = try BertModel(backbone: GoldenModelTests.backbone, pelt: pelt, numLabels: 3, maxBatch: 3,
                                      maxSeqLen: 20, seed: 2)
            let p = try model.parameters.parameter(named: "bert.encoder.layer.0.attention.self.prefix_gate.weight")
            var rng = RNG(seed: 4)
            rng.fillNormal(p.value.baseAddress!, p.value.count, std: 1)
            try model.forward(try batch(paddedTo: 12), training: false)
            let short = (model.logits, model.gateValues)
            try model.forward(try batch(paddedTo: 20), training: false)
            let long = (model.logits, model.gateValues)
            let gateDiff = zip(short.1, long.1).map { zip($0.perSample, $1.perSample).map { abs($0 - $1) }.max()! }.max()!
            let logitDiff = zip(short.0, long.0).map { abs($0 - $1) }.max()!
            if pooling == .masked {
                XCTAssertLessThan(gateDiff, 1e-6)
                XCTAssertLessThan(logitDiff, 1e-5)
            } else {
                XCTAssertGreaterThan(gateDiff, 1e-4)
            }
        }
    }

    func testGatesReportedPerLayerAndSite() throws {
        let model = try BertModel(backbone: GoldenModelTests.backbone, pelt: .method(.unipeltAPL, hiddenSize: 32),
                                  numLabels: 3, maxBatch: 3, maxSeqLen: 12, seed: 2)
        try model.forward(try batch(paddedTo: 12), training: false)
        let gates = model.gateValues
        XCTAssertEqual(gates.count, 2 * 4)
        XCTAssertEqual(Set(gates.map(\.site)), Set(GateSite.allCases))
        // N(0, 0.02) gate weights with zero bias start near σ(0) = 0.5.
        for g in gates { XCTAssertEqual(g.mean, 0.5, accuracy: 0.05) }
        let ungated = try BertModel(backbone: GoldenModelTests.backbone, pelt: .method(.unipeltAPLNoGate, hiddenSize: 32),
                                    numLabels: 3, maxBatch: 3, maxSeqLen: 12, seed: 2)
        try ungated.forward(try batch(paddedTo: 12), training: false)
        XCTAssertTrue(ungated.gateValues.isEmpty)
    }

    /// LoRA's B starts at zero, so an untrained LoRA model computes exactly the backbone's function.
    func testInitialLoRAIsTheIdentityUpdate() throws {
        let b = try batch(paddedTo: 12)
        let plain = try BertModel(backbone: GoldenModelTests.backbone, pelt: PELTConfig(), numLabels: 3, maxBatch: 3,
                                  maxSeqLen: 12, seed: 8)
        let lora = try BertModel(backbone: GoldenModelTests.backbone, pelt: .method(.lora, hiddenSize: 32), numLabels: 3,
                                 maxBatch: 3, maxSeqLen: 12, seed: 8)
        try lora.parameters.setValue("classifier.weight", Array(try plain.parameters.parameter(named: "classifier.weight").value))
        try plain.forward(b, training: false)
        try lora.forward(b, training: false)
        XCTAssertEqual(plain.logits, lora.logits)
    }

    /// Worker threads split independent work only: losses, logits and gradients are bit-identical.
    func testThreadCountDoesNotChangeResults() throws {
        func run(threads: Int) throws -> (Float, [Float], [Float]) {
            let model = try BertModel(backbone: GoldenModelTests.backbone, pelt: .method(.unipeltAPL, hiddenSize: 32),
                                      numLabels: 3, maxBatch: 3, maxSeqLen: 12, seed: 6)
            model.threads = threads
            model.parameters.zeroGradients()
            let loss = try model.forward(try batch(paddedTo: 12), training: true)
            model.backward()
            return (loss, model.logits, Array(UnsafeBufferPointer(start: model.parameters.gradients,
                                                                  count: model.parameters.count)))
        }
        let one = try run(threads: 1), two = try run(threads: 2)
        XCTAssertEqual(one.0, two.0)
        XCTAssertEqual(one.1, two.1)
        XCTAssertEqual(one.2, two.2)
    }

    func testBatchLargerThanPlanIsRejected() throws {
        let model = try BertModel(backbone: GoldenModelTests.backbone, pelt: .method(.adapter, hiddenSize: 32),
                                  numLabels: 3, maxBatch: 2, maxSeqLen: 12, seed: 1)
        XCTAssertThrowsError(try model.forward(try batch(paddedTo: 12), training: false)) { error in
            XCTAssertEqual(error as? ModelError, .batchTooLarge(batch: 3, seqLen: 12, maxBatch: 2, maxSeqLen: 12))
        }
    }

    func testTrainingDropoutIsSeeded() throws {
        func losses(seed: UInt64) throws -> [Float] {
            let model = try BertModel(backbone: GoldenModelTests.backbone, pelt: .method(.unipeltAP, hiddenSize: 32),
                                      numLabels: 3, maxBatch: 3, maxSeqLen: 12, seed: seed)
            return try (0..<3).map { _ in try model.forward(try batch(paddedTo: 12), training: true) }
        }
        XCTAssertEqual(try losses(seed: 1), try losses(seed: 1))
        XCTAssertNotEqual(try losses(seed: 1), try losses(seed: 2))
        let l = try losses(seed: 1)
        XCTAssertNotEqual(l[0], l[1], "each training forward draws new masks")
    }
}
