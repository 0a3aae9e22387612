import Foundation
import Tensor
import XCTest
@testable import Model
import TestSupport

final class BackboneTests: XCTestCase {
    /// Writes the tiny backbone's tensors with keys transformed by `rename` (nil drops a tensor) and the
    /// tiny config, as a Hugging Face directory.
    private func writeCheckpoint(rename: (String) -> String?, reshape: [String: [Int]] = [:]) throws -> String {
        let source = try Safetensors.read(path: Golden.directory + "/tiny_backbone.safetensors")
        var out: [String: Tensor] = [:]
        for (name, tensor) in source.tensors {
            guard let key = rename(name) else { continue }
            if let shape = reshape[name] {
                out[key] = Tensor(shape: Shape(shape), values: [Float](repeating: 0, count: shape.reduce(1, *)))
            } else {
                out[key] = tensor
            }
        }
        let dir = try makeTemporaryDirectory("model-tests").path
        try Safetensors.write(out, to: dir + "/model.safetensors")
        try FileManager.default.copyItem(atPath: Golden.directory + "/tiny_config.json", toPath: dir + "/config.json")
        return dir
    }

    func testBertModelLayoutWithoutPrefixLoadsTheSameWeights() throws {
        let dir = try writeCheckpoint(rename: { String($0.dropFirst("bert.".count)) })
        let bare = try Backbone.load(directory: dir)
        let prefixed = GoldenModelTests.backbone
        for (name, _) in ParameterLayout.backbone(bare.config) {
            XCTAssertEqual(try bare.values(name), try prefixed.values(name), name)
        }
    }

    func testShapeMismatchNamesFileAndTensor() throws {
        let name = "bert.encoder.layer.1.intermediate.dense.weight"
        let dir = try writeCheckpoint(rename: { $0 }, reshape: [name: [64, 31]])
        XCTAssertThrowsError(try Backbone.load(directory: dir)) { error in
            XCTAssertEqual(error as? ModelError, .shapeMismatch(path: dir + "/model.safetensors", name: name,
                                                                expected: [64, 32], found: [64, 31]))
            XCTAssert("\(error)".contains(name) && "\(error)".contains("model.safetensors"))
        }
    }

    func testMissingTensorIsNamed() throws {
        let dir = try writeCheckpoint(rename: { $0.hasSuffix("pooler.dense.bias") ? nil : $0 })
        XCTAssertThrowsError(try Backbone.load(directory: dir)) { error in
            XCTAssertEqual(error as? ModelError, .missingTensor(path: dir + "/model.safetensors", name: "pooler.dense.bias"))
        }
    }

    func testConfigErrorsNameTheField() throws {
        let dir = try makeTemporaryDirectory("model-tests").path
        try #"{"vocab_size": 10, "hidden_size": 30, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 8}"#
            .write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BertConfig.load(path: dir + "/config.json")) { error in
            guard case .invalidConfig(_, let field, _)? = error as? ModelError else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "num_attention_heads")
        }
    }

    /// Several models on several threads share one backbone; each owns only its deltas, and results do not
    /// depend on what the other threads do.
    func testConcurrentModelsShareOneBackbone() throws {
        let backbone = GoldenModelTests.backbone
        let batch = try Golden.batch(try Golden.file("unipelt-apl"), numLabels: 3)
        let methods = Method.allCases
        func run(_ method: Method) throws -> (Float, [Float]) {
            let model = try BertModel(backbone: backbone, pelt: .method(method, hiddenSize: 32), numLabels: 3,
                                      maxBatch: 3, maxSeqLen: 12, seed: 5)
            var last: (Float, [Float]) = (0, [])
            for _ in 0..<3 {
                model.parameters.zeroGradients()
                let loss = try model.forward(batch, training: true)
                model.backward()
                // A plain SGD step so the owned deltas move while other threads read the backbone.
                for p in model.parameters.trainable {
                    for i in 0..<p.value.count { p.value[i] -= 0.1 * p.gradient[i] }
                }
                last = (loss, model.logits)
            }
            return last
        }
        let serial = try methods.map(run)
        let results = UnsafeMutableBufferPointer<(Float, [Float])?>.allocate(capacity: methods.count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: methods.count) { i in results[i] = try? run(methods[i]) }
        for (i, method) in methods.enumerated() {
            XCTAssertEqual(results[i]?.0, serial[i].0, "\(method)")
            XCTAssertEqual(results[i]?.1, serial[i].1, "\(method)")
        }
        XCTAssertEqual(try backbone.values("bert.pooler.dense.bias"),
                       try Safetensors.read(path: Golden.directory + "/tiny_backbone.safetensors")
                           .tensors["bert.pooler.dense.bias"]!.toArray(), "the backbone never changes")
    }
}
