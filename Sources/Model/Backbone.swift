import Foundation
import Tensor

/// A frozen pretrained BERT: every weight in one buffer that is written once, at load, and never again.
/// Immutable after init, so any number of models on any threads read it at once without copies; each
/// model owns only its trainable tensors.
public final class Backbone: @unchecked Sendable {
    public let config: BertConfig
    /// Where the weights came from (a directory, or a description for random weights).
    public let source: String
    private let storage: UnsafeMutablePointer<Float>
    private let offsets: [String: (offset: Int, count: Int)]
    public let parameterCount: Int

    private init(config: BertConfig, source: String, fill: (String, [Int], UnsafeMutablePointer<Float>) throws -> Void) rethrows {
        let layout = ParameterLayout.backbone(config)
        var offsets: [String: (Int, Int)] = [:]
        var total = 0
        for (name, shape) in layout {
            let n = shape.reduce(1, *)
            offsets[name] = (total, n)
            total += n
        }
        let storage = UnsafeMutablePointer<Float>.allocate(capacity: total)
        do {
            for (name, shape) in layout { try fill(name, shape, storage + offsets[name]!.0) }
        } catch {
            storage.deallocate()
            throw error
        }
        self.config = config
        self.source = source
        self.storage = storage
        self.offsets = offsets
        self.parameterCount = total
    }

    deinit { storage.deallocate() }

    /// Loads a Hugging Face BERT directory (`config.json` + `model.safetensors`). Keys may carry the `bert.`
    /// prefix (BertForSequenceClassification) or not (BertModel); heads and extra buffers in the file are
    /// ignored. A missing tensor or a shape that does not match the config is an error naming file and tensor.
    public static func load(directory: String) throws -> Backbone {
        let config = try BertConfig.load(path: directory + "/config.json")
        return try load(config: config, weights: directory + "/model.safetensors")
    }

    public static func load(config: BertConfig, weights path: String) throws -> Backbone {
        let file = try Safetensors.read(path: path)
        return try Backbone(config: config, source: path) { name, shape, destination in
            let bare = String(name.dropFirst("bert.".count))
            guard let key = [name, bare].first(where: { file.tensors[$0] != nil }), let tensor = file.tensors[key] else {
                throw ModelError.missingTensor(path: path, name: bare)
            }
            guard tensor.shape.dims == shape else {
                throw ModelError.shapeMismatch(path: path, name: key, expected: shape, found: tensor.shape.dims)
            }
            Buffer.copy(tensor.data, destination, tensor.count)
        }
    }

    /// Random weights with BERT's init (N(0, 0.02), LayerNorm γ = 1, β = 0): benchmarks and tests.
    public static func random(config: BertConfig, seed: UInt64) -> Backbone {
        var rng = RNG(seed: seed, stream: .initialization)
        return Backbone(config: config, source: "random(seed: \(seed))") { name, shape, destination in
            let n = shape.reduce(1, *)
            if name.hasSuffix("LayerNorm.weight") {
                Buffer.fill(destination, n, 1)
            } else if name.hasSuffix(".bias") {
                Buffer.zero(destination, n)
            } else {
                rng.fillNormal(destination, n, std: 0.02)
            }
        }
    }

    /// The read-only values of a backbone tensor.
    func pointer(_ name: String) -> UnsafePointer<Float> {
        guard let entry = offsets[name] else { preconditionFailure("no backbone tensor '\(name)'") }
        return UnsafePointer(storage + entry.offset)
    }

    /// A copy of one tensor (tests, inspection).
    public func values(_ name: String) throws -> [Float] {
        guard let entry = offsets[name] else { throw ModelError.unknownParameter(name: name) }
        return Array(UnsafeBufferPointer(start: storage + entry.offset, count: entry.count))
    }
}
