import Text

/// One job of a sweep (or one run folder) as the tables see it: its cell of the grid and, once it succeeded,
/// the metric of its best-dev state. Metrics are on their own 0–1 scale; every GLUE metric is higher-better.
public struct RunRecord: Equatable, Sendable {
    public struct Outcome: Equatable, Sendable {
        /// The selection metric's name (`accuracy`, `f1`, `matthews`, `spearman`).
        public var metric: String?
        /// The test metric of the best-dev state: what the tables report.
        public var test: Double
        /// The best dev metric: what variant selection ranks by. Nil in results that do not carry it.
        public var dev: Double?

        public init(metric: String?, test: Double, dev: Double?) {
            self.metric = metric
            self.test = test
            self.dev = dev
        }
    }

    public var task: String
    public var k: TrainingSize
    public var method: String
    /// The swept hyperparameters that set this job apart (`learning_rate=0.0001`), empty when none were swept.
    public var variant: String
    public var seed: Int
    /// The job id, or the run folder's name.
    public var id: String
    /// Nil while the job has not succeeded: it counts among the cell's jobs but gives no value.
    public var outcome: Outcome?

    public init(task: String, k: TrainingSize, method: String, variant: String = "", seed: Int, id: String,
                outcome: Outcome?) {
        self.task = task
        self.k = k
        self.method = method
        self.variant = variant
        self.seed = seed
        self.id = id
        self.outcome = outcome
    }
}

/// One seed's value in a cell.
public struct SeedValue: Equatable, Sendable {
    public let seed: Int
    public let id: String
    public let test: Double
    public let dev: Double?
}

/// The runs of one (task, K, method, variant) with their statistics over seeds: the one place the mean and
/// the sample standard deviation are computed.
public struct ResultCell: Equatable, Sendable {
    public let task: String
    public let k: TrainingSize
    public let method: String
    public let variant: String
    public let metric: String?
    /// Succeeded runs by seed, ascending.
    public let seeds: [SeedValue]
    /// All jobs of the cell, whatever their status.
    public let jobCount: Int
    public let mean: Double?
    /// Sample standard deviation (n − 1); nil with fewer than two seeds.
    public let standardDeviation: Double?
    /// Mean best-dev metric over the seeds that report one.
    public let devMean: Double?

    init(task: String, k: TrainingSize, method: String, variant: String, runs: [RunRecord]) {
        self.task = task
        self.k = k
        self.method = method
        self.variant = variant
        metric = runs.lazy.compactMap { $0.outcome?.metric }.first
        seeds = runs.compactMap { run in
            run.outcome.map { SeedValue(seed: run.seed, id: run.id, test: $0.test, dev: $0.dev) }
        }.sorted { $0.seed < $1.seed }
        jobCount = runs.count
        mean = Statistics.mean(seeds.map(\.test))
        standardDeviation = Statistics.sampleStandardDeviation(seeds.map(\.test))
        devMean = Statistics.mean(seeds.compactMap(\.dev))
    }

    func value(seed: Int) -> Double? { seeds.first { $0.seed == seed }?.test }
}

enum Statistics {
    static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    static func sampleStandardDeviation(_ values: [Double]) -> Double? {
        guard values.count > 1, let mean = mean(values) else { return nil }
        return (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
    }

    /// The 97.5% quantile of Student's t with `degreesOfFreedom`, the factor of a two-sided 95% interval:
    /// exact to the 6 decimals of the table up to 30, and the Cornish–Fisher expansion beyond (error below 2e-6).
    static func studentT975(degreesOfFreedom df: Int) -> Double {
        precondition(df >= 1, "Student's t needs a degree of freedom")
        let table = [12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157,
                     2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922,
                     2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831,
                     2.048407, 2.045230, 2.042272]
        if df <= table.count { return table[df - 1] }
        let z = 1.959963984540054, d = Double(df)
        let z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z
        return z + (z3 + z) / (4 * d) + (5 * z5 + 16 * z3 + 3 * z) / (96 * d * d)
            + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * d * d * d)
    }
}

extension TrainingSize {
    /// K ascending, `all` last.
    var order: Int {
        switch self {
        case let .k(count): return count
        case .all: return Int.max
        }
    }
}

/// A sweep's cells, grouped and ordered once for every table: tasks in the caller's order (every task with
/// a job, so a task without values, still running or failed, is an empty column and keeps every average
/// over tasks empty rather than leaving it out of them), methods in the caller's order (those with no value
/// dropped), K ascending, variants in name order.
public struct ResultGrid: Sendable {
    /// Every cell with at least one seed's value.
    public let cells: [ResultCell]
    public let tasks: [String]
    public let methods: [String]
    public let kValues: [TrainingSize]

    public init(runs: [RunRecord], taskOrder: [String], methodOrder: [String]) {
        struct Key: Hashable { let task: String; let k: TrainingSize; let method: String; let variant: String }
        let groups = Dictionary(grouping: runs) { Key(task: $0.task, k: $0.k, method: $0.method, variant: $0.variant) }
        let cells = groups.map { key, runs in
            ResultCell(task: key.task, k: key.k, method: key.method, variant: key.variant, runs: runs)
        }.filter { $0.mean != nil }
        self.cells = cells.sorted { ($0.k.order, $0.variant) < ($1.k.order, $1.variant) }
        tasks = taskOrder.filter { task in runs.contains { $0.task == task } }
        methods = methodOrder.filter { method in cells.contains { $0.method == method } }
        kValues = Array(Set(cells.map(\.k))).sorted { $0.order < $1.order }
    }

    /// The cells of one task × K × method, one per variant in name order.
    public func variants(task: String, k: TrainingSize, method: String) -> [ResultCell] {
        cells.filter { $0.task == task && $0.k == k && $0.method == method }
    }

    /// The variant the paper's protocol keeps: the best mean dev metric. Test metrics never take part; a
    /// variant without dev values ranks below every variant with them, and equal means keep the first name.
    public func selected(task: String, k: TrainingSize, method: String) -> ResultCell? {
        let candidates = variants(task: task, k: k, method: method)
        return candidates.reduce(nil as ResultCell?) { best, cell in
            guard let best else { return cell }
            return (cell.devMean ?? -.infinity) > (best.devMean ?? -.infinity) ? cell : best
        }
    }

    /// Whether any task × K × method has more than one variant, that is whether selection chose anything.
    public var hasVariants: Bool {
        Set(cells.map { "\($0.task)/\($0.k)/\($0.method)" }).count < cells.count
    }
}
