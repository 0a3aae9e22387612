import Model
import XCTest
@testable import Training

final class OptimizerTests: XCTestCase {
    /// With zero gradients Adam's update is 0, so one step shows the decoupled decay alone: weights shrink by
    /// (1 − lr·λ), while biases and LayerNorm parameters (HF's no-decay list) stay as they were.
    func testWeightDecaySkipsBiasesAndLayerNorm() throws {
        let spec = try TrainingFixtures.spec("finetune", ["weight_decay": .number(0.5)])
        let trainer = try TrainingFixtures.trainer(spec)
        let parameters = trainer.model.parameters
        let before = Array(UnsafeBufferPointer(start: parameters.values, count: parameters.count))
        parameters.zeroGradients()
        trainer.optimizer.step(learningRate: 0.1)
        var decayed = 0, kept = 0
        for p in parameters.trainable {
            let offset = p.value.baseAddress! - parameters.values
            let exempt = p.name.hasSuffix("bias") || p.name.contains("LayerNorm")
            for i in [0, p.value.count - 1] {
                XCTAssertEqual(p.value[i], before[offset + i] * (exempt ? 1 : 0.95), accuracy: 1e-7, p.name)
            }
            if exempt { kept += 1 } else { decayed += 1 }
        }
        XCTAssertGreaterThan(decayed, 0)
        XCTAssertGreaterThan(kept, 0)
    }
}

final class TrainingSpecTests: XCTestCase {
    func testSizeHyperparametersReachTheModelConfiguration() throws {
        let spec = try TrainingSpec(task: "rte", k: 100, seed: 1, method: "unipelt-apl", model: "m", overrides: [
            "adapter_bottleneck": .integer(7), "prefix_length": .integer(3), "prefix_mid_dim": .integer(5),
            "lora_rank": .integer(2), "gate_pooling": .string("unmasked"), "classifier": .string("reference"),
        ])
        let pelt = try spec.peltConfig(hiddenSize: 384)
        XCTAssertEqual(pelt.adapter?.bottleneck, 7)
        XCTAssertEqual(pelt.prefix?.length, 3)
        XCTAssertEqual(pelt.prefix?.mlpWidth, 5)
        XCTAssertEqual(pelt.lora?.rank, 2)
        XCTAssertEqual(pelt.gatePooling, .unmasked)
        XCTAssertEqual(pelt.classifier, .reference)
        XCTAssertTrue(pelt.hasGates)
        XCTAssertEqual(try TrainingSpec(task: "rte", k: 100, seed: 1, method: "adapter", model: "m")
            .peltConfig(hiddenSize: 384).adapter?.bottleneck, 24, "hidden / 16 by default")
        XCTAssertThrowsError(try TrainingSpec(task: "wnli", k: 1, seed: 1, method: "lora", model: "m").glueTask()) {
            XCTAssertEqual(($0 as? TrainingError)?.code, "unknown_task")
        }
    }
}
