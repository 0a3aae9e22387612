import Text

/// What method A is compared against.
public enum Contender: Equatable, Sendable {
    case method(String)
    /// Per task the submodule of A that Table 2's upper bound picked (the best test mean): the strongest single
    /// method, chosen with hindsight, so a win over it is conservative.
    case bestSingle

    /// The name that requests it.
    public static let bestSingleName = "best-single"

    public init(_ name: String) { self = name == Self.bestSingleName ? .bestSingle : .method(name) }

    public var name: String {
        switch self {
        case let .method(name): return name
        case .bestSingle: return Self.bestSingleName
        }
    }
}

/// A against B over the runs both have (task, K, seed), each with its dev-selected variant: the mean
/// difference A − B, a paired bootstrap interval for it, and wins/ties/losses over seeds; per task and on
/// the task average (per seed, the mean over tasks of the differences, on the seeds every task has).
/// Values are on the 0–100 scale.
public struct PairedComparison: Sendable {
    public let a: String
    public let b: Contender
    public let tasks: [String]
    public let bootstrap: PairedBootstrap
    public let rows: [Row]

    public struct Cell: Encodable, Equatable, Sendable {
        /// A's and B's variants and B's method (for `best-single`, the submodule); null on the average.
        @EncodedAsNull public var aVariant: String?
        @EncodedAsNull public var bMethod: String?
        @EncodedAsNull public var bVariant: String?
        public let n: Int
        public let seeds: [Int]
        /// A − B per seed.
        public let differences: [Double]
        public let meanDifference: Double
        public let interval: PairedBootstrap.Interval
        public let wins: Int
        public let ties: Int
        public let losses: Int

        enum CodingKeys: String, CodingKey {
            case aVariant = "a_variant", bMethod = "b_method", bVariant = "b_variant", n, seeds, differences
            case meanDifference = "mean_difference", interval = "ci95", wins, ties, losses
        }

        init(aVariant: String?, bMethod: String?, bVariant: String?, seeds: [Int], differences: [Double],
             bootstrap: PairedBootstrap) {
            self.aVariant = aVariant
            self.bMethod = bMethod
            self.bVariant = bVariant
            n = seeds.count
            self.seeds = seeds
            self.differences = differences
            meanDifference = Statistics.mean(differences)!
            interval = bootstrap.interval(differences)
            wins = differences.filter { $0 > PairedBootstrap.tie }.count
            losses = differences.filter { $0 < -PairedBootstrap.tie }.count
            ties = differences.count - wins - losses
        }
    }

    public struct Row: Encodable, Equatable, Sendable {
        public let object = "comparison.row"
        public let k: String
        public let tasks: [String: Cell]
        /// On the task average; null unless every task of the table has pairs and some seed is in all of them.
        @EncodedAsNull public var average: Cell?
        /// Tasks where A's mean difference is positive, zero, negative.
        public let taskWins: Int
        public let taskTies: Int
        public let taskLosses: Int

        enum CodingKeys: String, CodingKey {
            case object, k, tasks, average, taskWins = "task_wins", taskTies = "task_ties", taskLosses = "task_losses"
        }
    }

    public init(_ grid: ResultGrid, a: String, b: Contender, bootstrap: PairedBootstrap = PairedBootstrap()) {
        self.a = a
        self.b = b
        tasks = grid.tasks
        self.bootstrap = bootstrap
        rows = grid.kValues.compactMap { k -> Row? in
            var cells: [String: Cell] = [:]
            var perSeed: [String: [Int: Double]] = [:]
            for task in grid.tasks {
                guard let left = grid.selected(task: task, k: k, method: a), let right = Self.cell(grid, task, k, a, b)
                else { continue }
                let pairs = left.seeds.compactMap { run in right.value(seed: run.seed).map { (run.seed, (run.test - $0) * 100) } }
                guard !pairs.isEmpty else { continue }
                perSeed[task] = Dictionary(uniqueKeysWithValues: pairs)
                cells[task] = Cell(aVariant: left.variant, bMethod: right.method, bVariant: right.variant,
                                   seeds: pairs.map(\.0), differences: pairs.map(\.1), bootstrap: bootstrap)
            }
            guard !cells.isEmpty else { return nil }
            var average: Cell?
            if cells.count == grid.tasks.count {
                let common = grid.tasks.map { Set(perSeed[$0]!.keys) }.reduce(Set(perSeed[grid.tasks[0]]!.keys)) { $0.intersection($1) }
                let seeds = common.sorted()
                if !seeds.isEmpty {
                    let differences = seeds.map { seed in Statistics.mean(grid.tasks.map { perSeed[$0]![seed]! })! }
                    average = Cell(aVariant: nil, bMethod: nil, bVariant: nil, seeds: seeds, differences: differences,
                                   bootstrap: bootstrap)
                }
            }
            let means = cells.values.map(\.meanDifference)
            let wins = means.filter { $0 > PairedBootstrap.tie }.count, losses = means.filter { $0 < -PairedBootstrap.tie }.count
            return Row(k: k.description, tasks: cells, average: average, taskWins: wins,
                       taskTies: means.count - wins - losses, taskLosses: losses)
        }
    }

    private static func cell(_ grid: ResultGrid, _ task: String, _ k: TrainingSize, _ a: String, _ b: Contender) -> ResultCell? {
        switch b {
        case let .method(name):
            return grid.selected(task: task, k: k, method: name)
        case .bestSingle:
            guard let combination = Combination.of(a) else { return nil }
            return Table2.upperBound(grid, task: task, k: k, submodules: combination.submodules)
        }
    }

    /// CSV: one line per K and task, then the task average (`avg`): B's method, n, mean difference A − B, the
    /// interval, wins, ties, losses.
    public func csv() -> String {
        var table = CSVTable(header: ["k", "task", "a", "b", "n", "mean_difference", "ci95_low", "ci95_high",
                                      "wins", "ties", "losses"])
        for row in rows {
            for (task, cell) in tasks.compactMap({ task in row.tasks[task].map { (task, $0) } })
                + (row.average.map { [("avg", $0)] } ?? []) {
                table.append([row.k, task, a, cell.bMethod ?? b.name, String(cell.n), CSVTable.signed(cell.meanDifference),
                              CSVTable.signed(cell.interval.low), CSVTable.signed(cell.interval.high),
                              String(cell.wins), String(cell.ties), String(cell.losses)])
            }
        }
        return table.text
    }
}

/// A percentile bootstrap of the mean of paired differences: `resamples` draws of n pairs with replacement,
/// from a generator seeded with `seed`, so the same differences always give the same interval.
public struct PairedBootstrap: Encodable, Equatable, Sendable {
    public let resamples: Int
    public let seed: UInt64
    public let confidence: Double

    /// Differences this close to zero are ties (metrics of the same evaluation set are equal exactly when tied;
    /// this only absorbs the rounding of the 0–100 scaling).
    static let tie = 1e-9

    public struct Interval: Encodable, Equatable, Sendable {
        public let low: Double
        public let high: Double
    }

    public init(resamples: Int = 10_000, seed: UInt64 = 1, confidence: Double = 0.95) {
        self.resamples = resamples
        self.seed = seed
        self.confidence = confidence
    }

    public func interval(_ differences: [Double]) -> Interval {
        var generator = SplitMix64(seed: seed)
        let n = differences.count
        let means = (0..<resamples).map { _ in
            (0..<n).reduce(0.0) { sum, _ in sum + differences[Int(generator.next() % UInt64(n))] } / Double(n)
        }.sorted()
        let tail = (1 - confidence) / 2
        let lowIndex = Int((Double(resamples) * tail).rounded(.down))
        let highIndex = max(lowIndex, Int((Double(resamples) * (1 - tail)).rounded(.up)) - 1)
        return Interval(low: means[lowIndex], high: means[min(highIndex, resamples - 1)])
    }
}
