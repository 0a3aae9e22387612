import Foundation
import Model
import Text

/// How batches are padded: to the longest example of each (length-bucketed) batch, or always to `max_seq_length`
/// as the reference code does.
public enum Padding: String, CaseIterable, Codable, Sendable {
    case dynamic
    case maxLength = "max_length"
}

/// How an epoch's examples are grouped into batches.
public enum Batching: String, CaseIterable, Codable, Sendable {
    /// Shuffle and cut: new batches every epoch (standard SGD, the reference code).
    case shuffle
    /// Shuffle, then sort windows of `bucket_window` examples by length before cutting: less padding for large
    /// K, but a K that fits in one window gives the same batches every epoch.
    case lengthBuckets = "length_buckets"
}

/// Every knob of one training job, resolved: per-method defaults (method.md §0) with the job's overrides applied.
/// Values are checked against `HyperparameterTable` when they come from outside (`init(method:overrides:)`).
public struct Hyperparameters: Codable, Equatable, Sendable {
    public var learningRate: Double
    public var epochs: Int
    public var batchSize: Int
    public var maxSeqLength: Int
    public var padding: Padding
    /// Examples sorted by length together before they are cut into batches (`length_buckets`, dynamic padding).
    public var bucketWindow: Int
    public var batching: Batching
    /// Which permutation of the train split draws the K training and the dev rows.
    public var split: SplitKind
    /// 0 evaluates after every epoch.
    public var evalEverySteps: Int
    /// Seconds between resumable `last` checkpoints while training; 0 writes `last` only at evaluations. nil: the
    /// runner's default (the service's `checkpoint_every_seconds`). It never changes what is trained.
    public var checkpointEverySeconds: Double?
    /// Consecutive evaluations without a strictly better dev metric that stop the run; 0 never stops early.
    public var earlyStoppingPatience: Int
    public var weightDecay: Double
    public var warmupRatio: Double
    /// Global L2 norm the gradients are clipped to; 0 disables clipping.
    public var maxGradNorm: Double
    /// `masked` or `unmasked` (method.md §0).
    public var gatePooling: String
    /// `trained` or `reference` (method.md §0).
    public var classifier: String
    public var prefixInit: PrefixInit
    public var gateBiasInit: GateBiasInit
    /// nil: hidden size / 16.
    public var adapterBottleneck: Int?
    public var prefixLength: Int
    public var prefixMidDim: Int
    public var loraRank: Int
    public var dropout: Bool
    /// Scores the test split at every evaluation (a test curve) instead of once on the best-dev state at the end.
    public var testEveryEval: Bool

    /// The defaults of `method` with `overrides` (names from `HyperparameterTable`) applied and checked.
    public init(method: String, overrides: [String: HyperparameterValue] = [:]) throws {
        guard let defaultRate = HyperparameterTable.learningRates[method] else {
            throw TrainingError.unknownMethod(name: method, allowed: HyperparameterTable.methods)
        }
        learningRate = defaultRate
        epochs = 50
        batchSize = 16
        maxSeqLength = 128
        padding = .dynamic
        bucketWindow = 256
        batching = .shuffle
        split = .official
        evalEverySteps = 0
        earlyStoppingPatience = 10
        weightDecay = 0
        warmupRatio = 0
        maxGradNorm = 1
        gatePooling = "masked"
        classifier = "trained"
        prefixInit = .bert
        gateBiasInit = .zero
        adapterBottleneck = nil
        prefixLength = 10
        prefixMidDim = 512
        loraRank = 8
        dropout = true
        testEveryEval = false
        for name in overrides.keys.sorted() {
            try set(name, overrides[name]!)
        }
    }

    /// Overrides given as text (`--set key=value` on the command line), parsed by each parameter's kind.
    public init(method: String, settings: [(name: String, value: String)]) throws {
        var overrides: [String: HyperparameterValue] = [:]
        for (name, text) in settings {
            overrides[name] = try HyperparameterTable.spec(named: name).kind.parse(text, name: name)
        }
        try self.init(method: method, overrides: overrides)
    }

    /// Sets one parameter after checking it against the table.
    public mutating func set(_ name: String, _ value: HyperparameterValue) throws {
        let checked = try HyperparameterTable.spec(named: name).kind.check(value, name: name)
        switch (name, checked) {
        case let ("learning_rate", .number(v)): learningRate = v
        case let ("epochs", .integer(v)): epochs = v
        case let ("batch_size", .integer(v)): batchSize = v
        case let ("max_seq_length", .integer(v)): maxSeqLength = v
        case let ("padding", .string(v)): padding = Padding(rawValue: v)!
        case let ("bucket_window", .integer(v)): bucketWindow = v
        case let ("batching", .string(v)): batching = Batching(rawValue: v)!
        case let ("split", .string(v)): split = SplitKind(rawValue: v)!
        case let ("eval_every_steps", .integer(v)): evalEverySteps = v
        case let ("checkpoint_every_seconds", .number(v)): checkpointEverySeconds = v
        case let ("early_stopping_patience", .integer(v)): earlyStoppingPatience = v
        case let ("weight_decay", .number(v)): weightDecay = v
        case let ("warmup_ratio", .number(v)): warmupRatio = v
        case let ("max_grad_norm", .number(v)): maxGradNorm = v
        case let ("gate_pooling", .string(v)): gatePooling = v
        case let ("classifier", .string(v)): classifier = v
        case let ("prefix_init", .string(v)): prefixInit = PrefixInit(rawValue: v)!
        case let ("gate_bias_init", .string(v)): gateBiasInit = GateBiasInit(rawValue: v)!
        case let ("adapter_bottleneck", .integer(v)): adapterBottleneck = v
        case let ("prefix_length", .integer(v)): prefixLength = v
        case let ("prefix_mid_dim", .integer(v)): prefixMidDim = v
        case let ("lora_rank", .integer(v)): loraRank = v
        case let ("dropout", .boolean(v)): dropout = v
        case let ("test_every_eval", .boolean(v)): testEveryEval = v
        default: preconditionFailure("hyperparameter \(name) is in the table but not in Hyperparameters")
        }
    }

    /// Every parameter as name → value in table order (nil for a derived default), for metadata and results.
    public var values: [(name: String, value: HyperparameterValue?)] {
        [("learning_rate", .number(learningRate)), ("epochs", .integer(epochs)), ("batch_size", .integer(batchSize)),
         ("max_seq_length", .integer(maxSeqLength)), ("padding", .string(padding.rawValue)),
         ("bucket_window", .integer(bucketWindow)), ("batching", .string(batching.rawValue)),
         ("split", .string(split.rawValue)), ("eval_every_steps", .integer(evalEverySteps)),
         ("checkpoint_every_seconds", checkpointEverySeconds.map(HyperparameterValue.number)),
         ("early_stopping_patience", .integer(earlyStoppingPatience)), ("weight_decay", .number(weightDecay)),
         ("warmup_ratio", .number(warmupRatio)), ("max_grad_norm", .number(maxGradNorm)),
         ("gate_pooling", .string(gatePooling)), ("classifier", .string(classifier)),
         ("prefix_init", .string(prefixInit.rawValue)), ("gate_bias_init", .string(gateBiasInit.rawValue)),
         ("adapter_bottleneck", adapterBottleneck.map(HyperparameterValue.integer)),
         ("prefix_length", .integer(prefixLength)), ("prefix_mid_dim", .integer(prefixMidDim)),
         ("lora_rank", .integer(loraRank)), ("dropout", .boolean(dropout)),
         ("test_every_eval", .boolean(testEveryEval))]
    }
}

/// One hyperparameter value as it arrives from JSON or the command line.
public enum HyperparameterValue: Codable, Equatable, Sendable, CustomStringConvertible {
    case integer(Int)
    case number(Double)
    case string(String)
    case boolean(Bool)

    public var description: String {
        switch self {
        case let .integer(v): return String(v)
        case let .number(v): return String(v)
        case let .string(v): return v
        case let .boolean(v): return String(v)
        }
    }
}

/// What values a hyperparameter accepts (the same four shapes as the service's request rules).
public enum HyperparameterKind: Equatable, Sendable, CustomStringConvertible {
    case integer(ClosedRange<Int>)
    case number(ClosedRange<Double>)
    case choice([String])
    case boolean

    public var description: String {
        switch self {
        case let .integer(range): return "an integer from \(range.lowerBound) to \(range.upperBound)"
        case let .number(range): return "a number from \(range.lowerBound) to \(range.upperBound)"
        case let .choice(allowed): return "one of \(allowed.joined(separator: ", "))"
        case .boolean: return "true or false"
        }
    }

    /// `value` normalised to this kind (an integral number is accepted as an integer and vice versa), or a
    /// typed error naming the parameter.
    func check(_ value: HyperparameterValue, name: String) throws -> HyperparameterValue {
        let invalid = TrainingError.invalidHyperparameter(name: name, value: value.description, expected: description)
        switch (self, value) {
        case let (.integer(range), .integer(v)) where range.contains(v):
            return value
        case let (.integer(range), .number(v)):
            guard let integer = Int(exactly: v), range.contains(integer) else { throw invalid }
            return .integer(integer)
        case let (.number(range), .number(v)) where range.contains(v):
            return value
        case let (.number(range), .integer(v)) where range.contains(Double(v)):
            return .number(Double(v))
        case let (.choice(allowed), .string(v)) where allowed.contains(v):
            return value
        case (.boolean, .boolean):
            return value
        default:
            throw invalid
        }
    }

    /// Parses command-line text as this kind.
    func parse(_ text: String, name: String) throws -> HyperparameterValue {
        let parsed: HyperparameterValue?
        switch self {
        case .integer: parsed = Int(text).map(HyperparameterValue.integer)
        case .number: parsed = Double(text).map(HyperparameterValue.number)
        case .choice: parsed = .string(text)
        case .boolean: parsed = ["true": true, "false": false, "on": true, "off": false][text].map(HyperparameterValue.boolean)
        }
        guard let value = parsed else {
            throw TrainingError.invalidHyperparameter(name: name, value: text, expected: description)
        }
        return try check(value, name: name)
    }
}

/// One row of the hyperparameter table.
public struct HyperparameterSpec: Sendable {
    public let name: String
    public let kind: HyperparameterKind
    /// The default for every method; nil when it is derived or differs per method (see `defaultValue(for:)`).
    public let defaultValue: HyperparameterValue?
    /// Methods whose default differs from `defaultValue`.
    public let methodDefaults: [String: HyperparameterValue]
    /// What the parameter does, with its derived default if any.
    public let summary: String

    public func defaultValue(for method: String) -> HyperparameterValue? {
        methodDefaults[method] ?? defaultValue
    }
}

/// The public table of hyperparameters: the service validates sweep requests with it and the CLI lists it.
public enum HyperparameterTable {
    /// The model's methods, in the paper's order.
    public static let methods = Method.allCases.map(\.rawValue)
    /// Default learning rates by method (method.md §0).
    static let learningRates: [String: Double] = Dictionary(uniqueKeysWithValues: Method.allCases.map { method in
        let rate: Double
        switch method {
        case .finetune: rate = 2e-5
        case .bitfit, .adapter: rate = 1e-4
        case .prefix: rate = 2e-4
        case .lora, .unipeltAP, .unipeltAPL, .unipeltAPLNoGate: rate = 5e-4
        }
        return (method.rawValue, rate)
    })

    public static let all: [HyperparameterSpec] = [
        HyperparameterSpec(name: "learning_rate", kind: .number(1e-7...1), defaultValue: nil,
                           methodDefaults: learningRates.mapValues(HyperparameterValue.number),
                           summary: "peak AdamW learning rate"),
        row("epochs", .integer(1...1000), .integer(50), "maximum passes over the K training examples"),
        row("batch_size", .integer(1...256), .integer(16), "examples per optimisation step"),
        row("max_seq_length", .integer(8...512), .integer(128), "tokens per example after truncation (longest first)"),
        row("padding", .choice(Padding.allCases.map(\.rawValue)), .string("dynamic"),
            "dynamic: each batch padded to its longest example; max_length: pad to max_seq_length"),
        row("bucket_window", .integer(1...100_000), .integer(256),
            "examples sorted by length together before batching (batching length_buckets, dynamic padding)"),
        row("batching", .choice(Batching.allCases.map(\.rawValue)), .string("shuffle"),
            "shuffle: new random batches every epoch (reference); length_buckets: batches of similar length"),
        row("split", .choice(SplitKind.allCases.map(\.rawValue)), .string("official"),
            "K-shot rows: official = numpy default_rng(seed).permutation as the reference code; splitmix = older unipelt"),
        row("eval_every_steps", .integer(0...1_000_000), .integer(0), "steps between dev evaluations; 0 = every epoch"),
        row("checkpoint_every_seconds", .number(0...604_800), nil,
            "seconds between resumable checkpoints while training; 0 = only at evaluations; default: the service's "
            + "checkpoint_every_seconds (300)"),
        row("early_stopping_patience", .integer(0...1000), .integer(10),
            "evaluations without a better dev metric before stopping; 0 = never stop early"),
        row("weight_decay", .number(0...1), .number(0), "decoupled AdamW weight decay (not on biases and LayerNorm)"),
        row("warmup_ratio", .number(0...1), .number(0), "fraction of all steps with linear warmup"),
        row("max_grad_norm", .number(0...1000), .number(1), "global gradient-norm clip; 0 = no clipping"),
        row("gate_pooling", .choice(["masked", "unmasked"]), .string("masked"),
            "gate mean over real tokens (masked) or over all padded positions (reference)"),
        row("classifier", .choice(["trained", "reference"]), .string("trained"),
            "reference: classifier weight frozen at init for prefix-, LoRA- and BitFit-only runs"),
        row("prefix_init", .choice(PrefixInit.allCases.map(\.rawValue)), .string("bert"),
            "prefix embedding and MLP: bert = N(0, 0.02) as the reference code; torch = PyTorch defaults (adapters)"),
        row("gate_bias_init", .choice(GateBiasInit.allCases.map(\.rawValue)), .string("zero"),
            "prefix and LoRA gate biases: zero as the reference code; torch = U(±1/√hidden) (adapters)"),
        row("adapter_bottleneck", .integer(1...4096), nil, "adapter hidden size; default hidden size / 16"),
        row("prefix_length", .integer(1...256), .integer(10), "prefix vectors per layer"),
        row("prefix_mid_dim", .integer(1...8192), .integer(512), "width of the prefix reparameterisation MLP"),
        row("lora_rank", .integer(1...1024), .integer(8), "LoRA rank r"),
        row("dropout", .boolean, .boolean(true), "BERT dropout (0.1) during training"),
        row("test_every_eval", .boolean, .boolean(false),
            "score the test split at every evaluation (a test curve); default: once, on the best-dev state"),
    ]

    public static var names: [String] { all.map(\.name) }

    public static func spec(named name: String) throws -> HyperparameterSpec {
        guard let spec = all.first(where: { $0.name == name }) else {
            throw TrainingError.unknownHyperparameter(name: name, allowed: names)
        }
        return spec
    }

    private static func row(_ name: String, _ kind: HyperparameterKind, _ defaultValue: HyperparameterValue?,
                            _ summary: String) -> HyperparameterSpec {
        HyperparameterSpec(name: name, kind: kind, defaultValue: defaultValue, methodDefaults: [:], summary: summary)
    }
}

/// Records written before a knob existed ran with its behaviour of that time, so they still decode and say
/// what they ran: SplitMix64 rows, length-bucketed batches, BERT prefix init, zero gate biases, the test split
/// scored at every evaluation.
extension Hyperparameters {
    private enum CodingKeys: String, CodingKey {
        case learningRate, epochs, batchSize, maxSeqLength, padding, bucketWindow, batching, split
        case evalEverySteps, earlyStoppingPatience, weightDecay, warmupRatio, maxGradNorm, gatePooling, classifier
        case prefixInit, gateBiasInit, adapterBottleneck, prefixLength, prefixMidDim, loraRank, dropout
        case testEveryEval, checkpointEverySeconds
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        learningRate = try c.decode(Double.self, forKey: .learningRate)
        epochs = try c.decode(Int.self, forKey: .epochs)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        maxSeqLength = try c.decode(Int.self, forKey: .maxSeqLength)
        padding = try c.decode(Padding.self, forKey: .padding)
        bucketWindow = try c.decode(Int.self, forKey: .bucketWindow)
        batching = try c.decodeIfPresent(Batching.self, forKey: .batching) ?? .lengthBuckets
        split = try c.decodeIfPresent(SplitKind.self, forKey: .split) ?? .splitmix
        evalEverySteps = try c.decode(Int.self, forKey: .evalEverySteps)
        earlyStoppingPatience = try c.decode(Int.self, forKey: .earlyStoppingPatience)
        weightDecay = try c.decode(Double.self, forKey: .weightDecay)
        warmupRatio = try c.decode(Double.self, forKey: .warmupRatio)
        maxGradNorm = try c.decode(Double.self, forKey: .maxGradNorm)
        gatePooling = try c.decode(String.self, forKey: .gatePooling)
        classifier = try c.decode(String.self, forKey: .classifier)
        prefixInit = try c.decodeIfPresent(PrefixInit.self, forKey: .prefixInit) ?? .bert
        gateBiasInit = try c.decodeIfPresent(GateBiasInit.self, forKey: .gateBiasInit) ?? .zero
        adapterBottleneck = try c.decodeIfPresent(Int.self, forKey: .adapterBottleneck)
        prefixLength = try c.decode(Int.self, forKey: .prefixLength)
        prefixMidDim = try c.decode(Int.self, forKey: .prefixMidDim)
        loraRank = try c.decode(Int.self, forKey: .loraRank)
        dropout = try c.decode(Bool.self, forKey: .dropout)
        testEveryEval = try c.decodeIfPresent(Bool.self, forKey: .testEveryEval) ?? true
        checkpointEverySeconds = try c.decodeIfPresent(Double.self, forKey: .checkpointEverySeconds)
    }

    /// The batch plan's length-bucket window: only when batching by length buckets with dynamic padding.
    var lengthBucketWindow: Int? {
        batching == .lengthBuckets && padding == .dynamic ? bucketWindow : nil
    }
}
