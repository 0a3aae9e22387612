import Foundation

/// The shape of a BERT encoder, read from a Hugging Face `config.json`.
public struct BertConfig: Equatable, Sendable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var intermediateSize: Int
    public var maxPositions = 512
    public var typeVocabSize = 2
    public var layerNormEps: Float = 1e-12
    public var hiddenDropout: Float = 0.1
    public var attentionDropout: Float = 0.1

    /// bert-base-uncased.
    public static let bertBase = BertConfig(vocabSize: 30522, hiddenSize: 768, numLayers: 12, numHeads: 12,
                                            intermediateSize: 3072)
    /// sentence-transformers/all-MiniLM-L6-v2, unipelt's default model.
    public static let miniLML6 = BertConfig(vocabSize: 30522, hiddenSize: 384, numLayers: 6, numHeads: 12,
                                            intermediateSize: 1536)

    public var headSize: Int { hiddenSize / numHeads }

    /// Reads and validates `config.json`; only GELU (erf) BERT encoders with absolute positions are accepted.
    public static func load(path: String) throws -> BertConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError.unreadableFile(path: path, reason: "no such file or not readable")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError.invalidConfig(path: path, field: "(root)", reason: "is not a JSON object")
        }
        func int(_ key: String, default value: Int? = nil) throws -> Int {
            if let v = json[key] as? Int { return v }
            if let value { return value }
            throw ModelError.invalidConfig(path: path, field: key, reason: "is missing or not an integer")
        }
        func float(_ key: String, default value: Float) throws -> Float {
            guard let raw = json[key] else { return value }
            guard let v = raw as? Double else {
                throw ModelError.invalidConfig(path: path, field: key, reason: "is not a number")
            }
            return Float(v)
        }
        if let act = json["hidden_act"] as? String, act != "gelu" {
            throw ModelError.invalidConfig(path: path, field: "hidden_act", reason: "is '\(act)', only 'gelu' is supported")
        }
        if let pos = json["position_embedding_type"] as? String, pos != "absolute" {
            throw ModelError.invalidConfig(path: path, field: "position_embedding_type",
                                           reason: "is '\(pos)', only 'absolute' is supported")
        }
        let config = BertConfig(
            vocabSize: try int("vocab_size"), hiddenSize: try int("hidden_size"),
            numLayers: try int("num_hidden_layers"), numHeads: try int("num_attention_heads"),
            intermediateSize: try int("intermediate_size"),
            maxPositions: try int("max_position_embeddings", default: 512),
            typeVocabSize: try int("type_vocab_size", default: 2),
            layerNormEps: try float("layer_norm_eps", default: 1e-12),
            hiddenDropout: try float("hidden_dropout_prob", default: 0.1),
            attentionDropout: try float("attention_probs_dropout_prob", default: 0.1))
        for (field, value) in [("vocab_size", config.vocabSize), ("hidden_size", config.hiddenSize),
                               ("num_hidden_layers", config.numLayers), ("num_attention_heads", config.numHeads),
                               ("intermediate_size", config.intermediateSize),
                               ("max_position_embeddings", config.maxPositions),
                               ("type_vocab_size", config.typeVocabSize)] where value <= 0 {
            throw ModelError.invalidConfig(path: path, field: field, reason: "must be positive, got \(value)")
        }
        if config.hiddenSize % config.numHeads != 0 {
            throw ModelError.invalidConfig(path: path, field: "num_attention_heads",
                                           reason: "\(config.numHeads) does not divide hidden_size \(config.hiddenSize)")
        }
        return config
    }
}
