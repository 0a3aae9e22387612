/// The tuning methods a job can ask for (a sweep's `methods`; the raw values are the API's names).
public enum Method: String, CaseIterable, Sendable {
    case finetune, bitfit, adapter, prefix, lora
    case unipeltAP = "unipelt-ap"
    case unipeltAPL = "unipelt-apl"
    case unipeltAPLNoGate = "unipelt-apl-nogate"

    public init(name: String) throws {
        guard let method = Method(rawValue: name) else { throw ModelError.unknownMethod(name) }
        self = method
    }
}

/// How a gate's per-token sigmoids become one scalar per sample.
public enum GatePooling: String, Sendable {
    /// Mean over real tokens only: gate values do not depend on padding (unipelt's default).
    case masked
    /// Mean over all T positions, padding included (the official code).
    case unmasked
}

/// Which head parameters train.
public enum ClassifierTraining: String, Sendable {
    /// Every method trains the classifier; the pooler trains only in full fine-tuning (unipelt's default).
    case trained
    /// The official code's freezing: prefix- and LoRA-only runs freeze the whole head at its random init,
    /// BitFit trains only the classifier bias, adapter-based runs train the head.
    case reference
}

/// How the prefix embedding and its MLP start.
public enum PrefixInit: String, CaseIterable, Codable, Sendable {
    /// N(0, 0.02) weights, zero biases: the reference code's BERT init, which reaches every module (default).
    case bert
    /// PyTorch's defaults, as the `adapters` library keeps them: embedding N(0, 1); Linear weight and bias
    /// U(±1/√fan_in). The initial prefix keys and values come out about 75 times larger.
    case torch
}

/// How the prefix and LoRA gates' biases start (their weights are N(0, 0.02) either way, and the adapter gate
/// is BERT-initialised in both references).
public enum GateBiasInit: String, CaseIterable, Codable, Sendable {
    /// Zero, so every gate starts near σ(0) = 0.5: the reference code's BERT init (default).
    case zero
    /// PyTorch's Linear default U(±1/√hidden), which the `adapters` library leaves in place.
    case torch
}

/// Pfeiffer adapter after the FFN (see Adapter.swift).
public struct AdapterConfig: Equatable, Sendable {
    public var bottleneck: Int
    public var gated: Bool
    public init(bottleneck: Int, gated: Bool) { self.bottleneck = bottleneck; self.gated = gated }
}

/// Encoder prefix with its reparameterisation MLP (see Prefix.swift).
public struct PrefixConfig: Equatable, Sendable {
    public var length: Int
    public var mlpWidth: Int
    public var gated: Bool
    public init(length: Int = 10, mlpWidth: Int = 512, gated: Bool) {
        self.length = length; self.mlpWidth = mlpWidth; self.gated = gated
    }
}

/// LoRA on the query and value projections (see LoRA.swift). Ungated, the update is scaled by `scale`
/// (α/r = 16/8 = 2); gated, each of the two gates replaces it.
public struct LoRAConfig: Equatable, Sendable {
    public var rank: Int
    public var scale: Float
    public var gated: Bool
    public init(rank: Int = 8, scale: Float = 2, gated: Bool) { self.rank = rank; self.scale = scale; self.gated = gated }
}

/// Everything that decides which tensors a model owns and trains.
public struct PELTConfig: Equatable, Sendable {
    public var finetune = false
    public var bitfit = false
    public var adapter: AdapterConfig?
    public var prefix: PrefixConfig?
    public var lora: LoRAConfig?
    public var gatePooling: GatePooling = .masked
    public var classifier: ClassifierTraining = .trained
    public var prefixInit: PrefixInit = .bert
    public var gateBiasInit: GateBiasInit = .zero

    /// unipelt's defaults for a method, the official code's sizes: bottleneck hidden/16, L = 10 with MLP
    /// width 512, r = 8; single-method runs ungated, `unipelt-ap`/`-apl` gated.
    public static func method(_ method: Method, hiddenSize: Int) -> PELTConfig {
        let bottleneck = max(1, hiddenSize / 16)
        switch method {
        case .finetune: return PELTConfig(finetune: true)
        case .bitfit: return PELTConfig(bitfit: true)
        case .adapter: return PELTConfig(adapter: AdapterConfig(bottleneck: bottleneck, gated: false))
        case .prefix: return PELTConfig(prefix: PrefixConfig(gated: false))
        case .lora: return PELTConfig(lora: LoRAConfig(gated: false))
        case .unipeltAP:
            return PELTConfig(adapter: AdapterConfig(bottleneck: bottleneck, gated: true),
                              prefix: PrefixConfig(gated: true))
        case .unipeltAPL, .unipeltAPLNoGate:
            let gated = method == .unipeltAPL
            return PELTConfig(adapter: AdapterConfig(bottleneck: bottleneck, gated: gated),
                              prefix: PrefixConfig(gated: gated), lora: LoRAConfig(gated: gated))
        }
    }

    /// Whether any layer has a submodule with a gate (gate values are then reported).
    public var hasGates: Bool { adapter?.gated == true || prefix?.gated == true || lora?.gated == true }

    /// The official code's "adapter mode" (train_adapter), which keeps the classifier trainable.
    var adapterMode: Bool { adapter != nil }

    func validate() throws {
        if finetune && (bitfit || adapter != nil || prefix != nil || lora != nil) {
            throw ModelError.invalidPELTConfig(field: "finetune", reason: "cannot be combined with other methods")
        }
        if let adapter, adapter.bottleneck <= 0 {
            throw ModelError.invalidPELTConfig(field: "adapter.bottleneck", reason: "must be positive")
        }
        if let prefix, prefix.length <= 0 || prefix.mlpWidth <= 0 {
            throw ModelError.invalidPELTConfig(field: "prefix", reason: "length and mlpWidth must be positive")
        }
        if let lora, lora.rank <= 0 {
            throw ModelError.invalidPELTConfig(field: "lora.rank", reason: "must be positive")
        }
    }
}
