import Model
import Text

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

    /// Why a value does not fit a kind; callers name the field in their own error type.
    public enum Mismatch: Error, Equatable {
        /// Not the kind's shape (a string for a number, ...).
        case type
        /// The right shape, but outside the range or not one of the choices.
        case value
    }

    public var description: String {
        switch self {
        case let .integer(range): return "an integer from \(range.lowerBound) to \(range.upperBound)"
        case let .number(range): return "a number from \(range.lowerBound) to \(range.upperBound)"
        case let .choice(allowed): return "one of \(allowed.joined(separator: ", "))"
        case .boolean: return "true or false"
        }
    }

    /// `value` normalised to this kind (an integral number is accepted as an integer and vice versa). The one
    /// check of hyperparameter values: the trainer, the command line and the service's requests all use it.
    public func admit(_ value: HyperparameterValue) throws(Mismatch) -> HyperparameterValue {
        switch (self, value) {
        case let (.integer(range), .integer(v)):
            guard range.contains(v) else { throw .value }
            return value
        case let (.integer(range), .number(v)):
            guard let integer = Int(exactly: v), range.contains(integer) else { throw .value }
            return .integer(integer)
        case let (.number(range), .number(v)):
            guard range.contains(v) else { throw .value }
            return value
        case let (.number(range), .integer(v)):
            guard range.contains(Double(v)) else { throw .value }
            return .number(Double(v))
        case let (.choice(allowed), .string(v)):
            guard allowed.contains(v) else { throw .value }
            return value
        case (.boolean, .boolean):
            return value
        default:
            throw .type
        }
    }

    /// `admit`, failing with a typed error naming the parameter.
    func check(_ value: HyperparameterValue, name: String) throws -> HyperparameterValue {
        do {
            return try admit(value)
        } catch {
            throw TrainingError.invalidHyperparameter(name: name, value: value.description, expected: description)
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

/// One row of the hyperparameter table: the public name, the accepted values, a one-line summary, and how the
/// row reads, writes, decodes and encodes its `Hyperparameters` property.
public struct HyperparameterSpec: Sendable {
    public let name: String
    public let kind: HyperparameterKind
    /// What the parameter does, with its derived default if any.
    public let summary: String
    /// What a record written before the parameter existed ran with; nil when every record has it (or it is optional).
    public let legacyValue: HyperparameterValue?
    /// The key in stored JSON: the property's name, `name` in lower camel case.
    public let codingKey: String
    /// The `Hyperparameters` property this row stands for.
    public let keyPath: PartialKeyPath<Hyperparameters> & Sendable
    private let read: @Sendable (Hyperparameters) -> HyperparameterValue?
    /// Stores a value already admitted by `kind`.
    let write: @Sendable (inout Hyperparameters, HyperparameterValue) -> Void
    let decode: @Sendable (KeyedDecodingContainer<HyperparameterCodingKey>, inout Hyperparameters) throws -> Void
    let encode: @Sendable (Hyperparameters, inout KeyedEncodingContainer<HyperparameterCodingKey>) throws -> Void

    /// This parameter's value in `hyperparameters`; nil for a derived default.
    public func value(in hyperparameters: Hyperparameters) -> HyperparameterValue? {
        read(hyperparameters)
    }

    /// The default for `method`; nil when it is derived from the model (or the method is unknown).
    public func defaultValue(for method: String) -> HyperparameterValue? {
        (try? Hyperparameters(method: method)).flatMap(read)
    }

    /// The default by method, in the table's method order.
    public var defaults: [(method: String, value: HyperparameterValue?)] {
        HyperparameterTable.methods.map { ($0, defaultValue(for: $0)) }
    }

    /// The default as text: one value, `derived`, or `by method (finetune 2e-05, ...)` when methods differ.
    public var defaultDescription: String {
        let defaults = self.defaults.map { (method: $0.method, text: $0.value?.description ?? "derived") }
        guard Set(defaults.map(\.text)).count > 1 else { return defaults[0].text }
        return "by method (" + defaults.map { "\($0.method) \($0.text)" }.joined(separator: ", ") + ")"
    }

    /// A required property: a record without its key decodes to `legacy`, or fails when there is none.
    init<Value: HyperparameterRepresentable>(_ name: String, _ keyPath: WritableKeyPath<Hyperparameters, Value> & Sendable,
                                             _ bounds: Value.Bounds, legacy: Value? = nil, _ summary: String) {
        let key = HyperparameterCodingKey(camelCasing: name)
        self.name = name
        kind = Value.kind(bounds)
        self.summary = summary
        legacyValue = legacy?.hyperparameterValue
        codingKey = key.stringValue
        self.keyPath = keyPath
        read = { $0[keyPath: keyPath].hyperparameterValue }
        write = { $0[keyPath: keyPath] = Value(admitted: $1) }
        decode = { container, hyperparameters in
            hyperparameters[keyPath: keyPath] = try legacy.map { try container.decodeIfPresent(Value.self, forKey: key) ?? $0 }
                ?? container.decode(Value.self, forKey: key)
        }
        encode = { try $1.encode($0[keyPath: keyPath], forKey: key) }
    }

    /// A required property whose accepted values follow from its type (an enum's cases, true or false).
    init<Value: HyperparameterRepresentable>(_ name: String, _ keyPath: WritableKeyPath<Hyperparameters, Value> & Sendable,
                                             legacy: Value? = nil, _ summary: String) where Value.Bounds == Void {
        self.init(name, keyPath, (), legacy: legacy, summary)
    }

    /// An optional property: nil (absent from JSON) means a default derived elsewhere.
    init<Value: HyperparameterRepresentable>(_ name: String, _ keyPath: WritableKeyPath<Hyperparameters, Value?> & Sendable,
                                             _ bounds: Value.Bounds, _ summary: String) {
        let key = HyperparameterCodingKey(camelCasing: name)
        self.name = name
        kind = Value.kind(bounds)
        self.summary = summary
        legacyValue = nil
        codingKey = key.stringValue
        self.keyPath = keyPath
        read = { $0[keyPath: keyPath]?.hyperparameterValue }
        write = { $0[keyPath: keyPath] = Value(admitted: $1) }
        decode = { container, hyperparameters in
            hyperparameters[keyPath: keyPath] = try container.decodeIfPresent(Value.self, forKey: key)
        }
        encode = { try $1.encodeIfPresent($0[keyPath: keyPath], forKey: key) }
    }
}

/// The public table of hyperparameters. Derived from it: `Hyperparameters`' checking, `--set`, `--set help`,
/// JSON coding of records old and new, the service's request validation and its OpenAPI schema.
public enum HyperparameterTable {
    /// The model's methods, in the paper's order.
    public static let methods = Method.allCases.map(\.rawValue)

    /// The default learning rate of `method`: the only default that differs by method.
    static func learningRate(for method: Method) -> Double {
        switch method {
        case .finetune: return 2e-5
        case .bitfit, .adapter: return 1e-4
        case .prefix: return 2e-4
        case .lora, .unipeltAP, .unipeltAPL, .unipeltAPLNoGate: return 5e-4
        }
    }

    private typealias Row = HyperparameterSpec

    /// Rows with a legacy value are newer than the oldest records, which ran SplitMix64 rows, length-bucketed
    /// batches, BERT prefix init, zero gate biases and scored the test split at every evaluation.
    public static let all: [HyperparameterSpec] = [
        Row("learning_rate", \.learningRate, 1e-7...1, "peak AdamW learning rate"),
        Row("epochs", \.epochs, 1...1000, "maximum passes over the K training examples"),
        Row("batch_size", \.batchSize, 1...256, "examples per optimisation step"),
        Row("max_seq_length", \.maxSeqLength, 8...512, "tokens per example after truncation (longest first)"),
        Row("padding", \.padding, "dynamic: each batch padded to its longest example; max_length: pad to max_seq_length"),
        Row("bucket_window", \.bucketWindow, 1...100_000,
            "examples sorted by length together before batching (batching length_buckets, dynamic padding)"),
        Row("batching", \.batching, legacy: .lengthBuckets,
            "shuffle: new random batches every epoch (reference); length_buckets: batches of similar length"),
        Row("split", \.split, legacy: .splitmix,
            "K-shot rows: official = numpy default_rng(seed).permutation as the reference code; splitmix = older unipelt"),
        Row("eval_every_steps", \.evalEverySteps, 0...1_000_000, "steps between dev evaluations; 0 = every epoch"),
        Row("checkpoint_every_seconds", \.checkpointEverySeconds, 0...604_800,
            "seconds between resumable checkpoints while training; 0 = only at evaluations; default: the service's "
            + "checkpoint_every_seconds (300)"),
        Row("early_stopping_patience", \.earlyStoppingPatience, 0...1000,
            "evaluations without a better dev metric before stopping; 0 = never stop early"),
        Row("weight_decay", \.weightDecay, 0...1, "decoupled AdamW weight decay (not on biases and LayerNorm)"),
        Row("warmup_ratio", \.warmupRatio, 0...1, "fraction of all steps with linear warmup"),
        Row("max_grad_norm", \.maxGradNorm, 0...1000, "global gradient-norm clip; 0 = no clipping"),
        Row("gate_pooling", \.gatePooling, ["masked", "unmasked"],
            "gate mean over real tokens (masked) or over all padded positions (reference)"),
        Row("classifier", \.classifier, ["trained", "reference"],
            "reference: classifier weight frozen at init for prefix-, LoRA- and BitFit-only runs"),
        Row("prefix_init", \.prefixInit, legacy: .bert,
            "prefix embedding and MLP: bert = N(0, 0.02) as the reference code; torch = PyTorch defaults (adapters)"),
        Row("gate_bias_init", \.gateBiasInit, legacy: .zero,
            "prefix and LoRA gate biases: zero as the reference code; torch = U(±1/√hidden) (adapters)"),
        Row("adapter_bottleneck", \.adapterBottleneck, 1...4096, "adapter hidden size; default hidden size / 16"),
        Row("prefix_length", \.prefixLength, 1...256, "prefix vectors per layer"),
        Row("prefix_mid_dim", \.prefixMidDim, 1...8192, "width of the prefix reparameterisation MLP"),
        Row("lora_rank", \.loraRank, 1...1024, "LoRA rank r"),
        Row("dropout", \.dropout, "BERT dropout (0.1) during training"),
        Row("test_every_eval", \.testEveryEval, legacy: true,
            "score the test split at every evaluation (a test curve); default: once, on the best-dev state"),
    ]

    public static var names: [String] { all.map(\.name) }

    public static func spec(named name: String) throws -> HyperparameterSpec {
        guard let spec = all.first(where: { $0.name == name }) else {
            throw TrainingError.unknownHyperparameter(name: name, allowed: names)
        }
        return spec
    }

    /// The row of a property, for errors that name a parameter found invalid outside the table (`\.maxSeqLength`).
    public static func spec(for keyPath: PartialKeyPath<Hyperparameters>) -> HyperparameterSpec {
        guard let spec = all.first(where: { $0.keyPath == keyPath }) else {
            preconditionFailure("\(keyPath) has no row in HyperparameterTable")
        }
        return spec
    }
}

/// A row's key in stored JSON (`learningRate` for `learning_rate`).
public struct HyperparameterCodingKey: CodingKey, Sendable {
    public let stringValue: String
    public var intValue: Int? { nil }

    public init(stringValue: String) {
        self.stringValue = stringValue
    }

    public init?(intValue: Int) {
        nil
    }

    init(camelCasing name: String) {
        let words = name.split(separator: "_")
        stringValue = words.prefix(1).joined() + words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}

/// A Swift type a hyperparameter is stored as: its kind (given the row's bounds) and its `HyperparameterValue`.
protocol HyperparameterRepresentable: Codable, Sendable {
    /// What a row states besides the type: a range, the choices, or nothing.
    associatedtype Bounds = Void
    static func kind(_ bounds: Bounds) -> HyperparameterKind
    var hyperparameterValue: HyperparameterValue { get }
    /// The stored form of a value `kind` admitted (so of the matching case).
    init(admitted: HyperparameterValue)
}

extension HyperparameterRepresentable {
    /// Int, Double, Bool and String are stored as the value's payload itself.
    init(admitted: HyperparameterValue) {
        let payload: Any
        switch admitted {
        case let .integer(v): payload = v
        case let .number(v): payload = v
        case let .string(v): payload = v
        case let .boolean(v): payload = v
        }
        guard let value = payload as? Self else { preconditionFailure("\(admitted) was admitted as \(Self.self)") }
        self = value
    }
}

extension Int: HyperparameterRepresentable {
    static func kind(_ bounds: ClosedRange<Int>) -> HyperparameterKind { .integer(bounds) }
    var hyperparameterValue: HyperparameterValue { .integer(self) }
}

extension Double: HyperparameterRepresentable {
    static func kind(_ bounds: ClosedRange<Double>) -> HyperparameterKind { .number(bounds) }
    var hyperparameterValue: HyperparameterValue { .number(self) }
}

extension Bool: HyperparameterRepresentable {
    static func kind(_ bounds: Void) -> HyperparameterKind { .boolean }
    var hyperparameterValue: HyperparameterValue { .boolean(self) }
}

/// A string restricted to the choices its row lists.
extension String: HyperparameterRepresentable {
    static func kind(_ bounds: [String]) -> HyperparameterKind { .choice(bounds) }
    var hyperparameterValue: HyperparameterValue { .string(self) }
}

/// An enum's cases are its choices.
extension HyperparameterRepresentable where Self: CaseIterable & RawRepresentable, RawValue == String, Bounds == Void {
    static func kind(_ bounds: Void) -> HyperparameterKind { .choice(allCases.map(\.rawValue)) }
    var hyperparameterValue: HyperparameterValue { .string(rawValue) }
    init(admitted: HyperparameterValue) {
        guard case let .string(name) = admitted, let value = Self(rawValue: name) else {
            preconditionFailure("\(admitted) was admitted as one of \(Self.allCases)")
        }
        self = value
    }
}

extension Padding: HyperparameterRepresentable {}
extension Batching: HyperparameterRepresentable {}
extension SplitKind: HyperparameterRepresentable {}
extension PrefixInit: HyperparameterRepresentable {}
extension GateBiasInit: HyperparameterRepresentable {}
