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

/// Every knob of one training job, resolved: the defaults declared here (the learning rate per method) with the
/// job's overrides applied. Names, ranges, documentation, JSON coding and the values of records that predate a
/// knob come from the rows of `HyperparameterTable`, which point at these properties: a new knob is a property
/// with its default here and one row there.
public struct Hyperparameters: Equatable, Sendable {
    /// Per method: `HyperparameterTable.learningRate(for:)`.
    public var learningRate: Double
    public var epochs = 50
    public var batchSize = 16
    public var maxSeqLength = 128
    public var padding = Padding.dynamic
    /// Examples sorted by length together before they are cut into batches (`length_buckets`, dynamic padding).
    public var bucketWindow = 256
    public var batching = Batching.shuffle
    /// Which permutation of the train split draws the K training and the dev rows.
    public var split = SplitKind.official
    /// 0 evaluates after every epoch.
    public var evalEverySteps = 0
    /// Seconds between resumable `last` checkpoints while training; 0 writes `last` only at evaluations. nil: the
    /// runner's default (the service's `checkpoint_every_seconds`). It never changes what is trained.
    public var checkpointEverySeconds: Double?
    /// Consecutive evaluations without a strictly better dev metric that stop the run; 0 never stops early.
    public var earlyStoppingPatience = 10
    public var weightDecay = 0.0
    public var warmupRatio = 0.0
    /// Global L2 norm the gradients are clipped to; 0 disables clipping.
    public var maxGradNorm = 1.0
    /// `masked` or `unmasked` (`GatePooling`).
    public var gatePooling = GatePooling.masked.rawValue
    /// `trained` or `reference` (`ClassifierTraining`).
    public var classifier = ClassifierTraining.trained.rawValue
    public var prefixInit = PrefixInit.bert
    public var gateBiasInit = GateBiasInit.zero
    /// nil: hidden size / 16.
    public var adapterBottleneck: Int?
    public var prefixLength = 10
    public var prefixMidDim = 512
    public var loraRank = 8
    public var dropout = true
    /// Scores the test split at every evaluation (a test curve) instead of once on the best-dev state at the end.
    public var testEveryEval = false

    private init(learningRate: Double) {
        self.learningRate = learningRate
    }

    /// The defaults of `method` with `overrides` (names from `HyperparameterTable`) applied and checked.
    public init(method: String, overrides: [String: HyperparameterValue] = [:]) throws {
        guard let known = Method(rawValue: method) else {
            throw TrainingError.unknownMethod(name: method, allowed: HyperparameterTable.methods)
        }
        self.init(learningRate: HyperparameterTable.learningRate(for: known))
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
        let spec = try HyperparameterTable.spec(named: name)
        spec.write(&self, try spec.kind.check(value, name: name))
    }

    /// Every parameter as name → value in table order (nil for a derived default), for metadata and results.
    public var values: [(name: String, value: HyperparameterValue?)] {
        HyperparameterTable.all.map { ($0.name, $0.value(in: self)) }
    }

    /// The batch plan's length-bucket window: only when batching by length buckets with dynamic padding.
    var lengthBucketWindow: Int? {
        batching == .lengthBuckets && padding == .dynamic ? bucketWindow : nil
    }
}

/// Stored under each row's coding key; a record written before a knob existed decodes to what it ran with (the
/// row's legacy value), so old results, checkpoints and job specs keep saying what they trained.
extension Hyperparameters: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: HyperparameterCodingKey.self)
        // Every row writes its property below (or throws), the learning rate included.
        self.init(learningRate: .nan)
        for spec in HyperparameterTable.all {
            try spec.decode(container, &self)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: HyperparameterCodingKey.self)
        for spec in HyperparameterTable.all {
            try spec.encode(self, &container)
        }
    }
}
