import Foundation
import Tensor
import XCTest
@testable import Model

/// Golden files written by Tests/Scripts/model_golden.py.
enum Golden {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path

    static func file(_ name: String) throws -> SafetensorsFile {
        try Safetensors.read(path: directory + "/" + name + ".safetensors")
    }

    static func tinyBackbone() throws -> Backbone {
        let config = try BertConfig.load(path: directory + "/tiny_config.json")
        return try Backbone.load(config: config, weights: directory + "/tiny_backbone.safetensors")
    }

    static func array(_ file: SafetensorsFile, _ name: String) throws -> [Float] {
        guard let t = file.tensors[name] else { throw ModelError.missingTensor(path: file.path, name: name) }
        return t.toArray()
    }

    /// The batch stored under input.* (ids as exact floats); labels per the head.
    static func batch(_ file: SafetensorsFile, numLabels: Int) throws -> Batch {
        let ids = file.tensors["input.input_ids"]!
        let B = ids.shape[0], T = ids.shape[1]
        let int = { (name: String) throws -> [Int32] in try array(file, name).map { Int32($0) } }
        let labels: Labels
        if let raw = file.tensors["input.labels"]?.toArray() {
            labels = numLabels == 1 ? .values(raw) : .classes(raw.map { Int32($0) })
        } else {
            labels = .classes([Int32](repeating: 0, count: B))
        }
        return try Batch(size: B, seqLen: T, inputIds: try int("input.input_ids"),
                         tokenTypeIds: try int("input.token_type_ids"), attentionMask: try int("input.attention_mask"),
                         labels: labels)
    }
}
