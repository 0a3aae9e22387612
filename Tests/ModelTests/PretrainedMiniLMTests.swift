import Foundation
import XCTest
@testable import Model
import TestSupport

/// The real default model (deploy/setup.sh puts it in var/models/minilm-l6) on 64 SST-2 dev sentences,
/// against transformers' BertModel (pooled output and a seeded random head's logits).
final class PretrainedMiniLMTests: XCTestCase {
    func testPooledOutputAndLogitsMatchTransformers() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let modelDirectory = root.appendingPathComponent("var/models/minilm-l6").path
        guard FileManager.default.fileExists(atPath: modelDirectory + "/model.safetensors") else {
            print("PretrainedMiniLMTests: \(modelDirectory) is absent (run deploy/setup.sh); skipped")
            throw XCTSkip("var/models/minilm-l6 is absent")
        }
        let backbone = try Backbone.load(directory: modelDirectory)
        let file = try Golden.file("minilm-sst2")
        var batch = try Golden.batch(file, numLabels: 2)
        var pooledExpected = try Golden.array(file, "output.pooled")
        var logitsExpected = try Golden.array(file, "output.logits")
        #if DEBUG
        // Unoptimised SIMD kernels are ~100× slower: debug builds check the first 4 sentences (their
        // outputs do not depend on the others), release builds all 64.
        let keep = 4, T = batch.seqLen, H = backbone.config.hiddenSize
        batch = try Batch(size: keep, seqLen: T, inputIds: Array(batch.inputIds.prefix(keep * T)),
                          tokenTypeIds: Array(batch.tokenTypeIds.prefix(keep * T)),
                          attentionMask: Array(batch.attentionMask.prefix(keep * T)),
                          labels: .classes([Int32](repeating: 0, count: keep)))
        pooledExpected = Array(pooledExpected.prefix(keep * H))
        logitsExpected = Array(logitsExpected.prefix(keep * 2))
        #endif
        let model = try BertModel(backbone: backbone, pelt: PELTConfig(), numLabels: 2, maxBatch: batch.size,
                                  maxSeqLen: batch.seqLen, seed: 1)
        for name in ["classifier.weight", "classifier.bias"] {
            try model.parameters.setValue(name, try Golden.array(file, "weight." + name))
        }
        try model.forward(batch, training: false)
        let pooled = assertClose(model.pooled, pooledExpected, rtol: 1e-4, atol: 1e-4, "pooled")
        let logits = assertClose(model.logits, logitsExpected, rtol: 1e-4, atol: 1e-5, "logits")
        print("MiniLM-L6 on \(batch.size)×\(batch.seqLen) SST-2 tokens: max |Δ| pooled \(pooled), logits \(logits)")
    }
}
