import Text

/// What method A is compared against.
public enum Contender: Equatable, Sendable {
    case method(String)
    /// Per task the submodule of A that Table 2's upper bound picked (the best test mean): the strongest single
    /// method, chosen with hindsight on the test metric, so a win over it is conservative and a loss to it is
    /// overstated.
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

    /// How B's runs are chosen in each cell, for readers of a comparison.
    public var selection: String {
        switch self {
        case .method: return "the variant with the best mean dev metric"
        case .bestSingle:
            return "per task the submodule with the best mean test metric (hindsight: a win is conservative, a loss overstated)"
        }
    }
}

/// A against B over the runs both have (task, K, seed), each with its dev-selected variant: the mean
/// difference A − B, a paired bootstrap interval and a Student-t interval for it, and wins/ties/losses over
/// seeds; per task and on the task average (per seed, the mean over tasks of the differences, on the seeds
/// every task has). Values are on the 0–100 scale. With the few seeds of a sweep the percentile bootstrap is
/// narrow (it covers about 75% at 3 seeds and 85% at 5 under normal errors); the t interval is the one with
/// its stated coverage.
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
        /// Pairs: the seeds both sides have.
        public let n: Int
        public let seeds: [Int]
        /// Runs each side has in the cell, and the seeds only one of them has (left out of the pairs). On the
        /// task average a side's run of a seed is a value in every task, so its pairs are the seeds both sides
        /// have in every task.
        public let aN: Int
        public let bN: Int
        public let unpairedSeeds: [Int]
        /// A − B per seed.
        public let differences: [Double]
        public let meanDifference: Double
        /// Percentile bootstrap over the pairs; null below 2 pairs.
        @EncodedAsNull public var interval: PairedBootstrap.Interval?
        /// mean ± t(0.975, n − 1) · s/√n; null below 2 pairs.
        @EncodedAsNull public var tInterval: PairedBootstrap.Interval?
        public let wins: Int
        public let ties: Int
        public let losses: Int

        enum CodingKeys: String, CodingKey {
            case aVariant = "a_variant", bMethod = "b_method", bVariant = "b_variant", n, seeds, aN = "a_n", bN = "b_n"
            case unpairedSeeds = "unpaired_seeds", differences, meanDifference = "mean_difference", interval = "ci95"
            case tInterval = "t_ci95", wins, ties, losses
        }

        init(aVariant: String?, bMethod: String?, bVariant: String?, seeds: [Int], differences: [Double],
             aSeeds: [Int], bSeeds: [Int], bootstrap: PairedBootstrap) {
            self.aVariant = aVariant
            self.bMethod = bMethod
            self.bVariant = bVariant
            n = seeds.count
            self.seeds = seeds
            aN = aSeeds.count
            bN = bSeeds.count
            unpairedSeeds = Set(aSeeds).symmetricDifference(bSeeds).sorted()
            self.differences = differences
            let mean = Statistics.mean(differences)!
            meanDifference = mean
            interval = differences.count < 2 ? nil : bootstrap.interval(differences)
            tInterval = Statistics.sampleStandardDeviation(differences).map { s in
                let half = Statistics.studentT975(degreesOfFreedom: differences.count - 1) * s
                    / Double(differences.count).squareRoot()
                return PairedBootstrap.Interval(low: mean - half, high: mean + half)
            }
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
            var aSeeds: [String: Set<Int>] = [:], bSeeds: [String: Set<Int>] = [:]
            for task in grid.tasks {
                guard let left = grid.selected(task: task, k: k, method: a), let right = Self.cell(grid, task, k, a, b)
                else { continue }
                let pairs = left.seeds.compactMap { run in right.value(seed: run.seed).map { (run.seed, (run.test - $0) * 100) } }
                guard !pairs.isEmpty else { continue }
                perSeed[task] = Dictionary(uniqueKeysWithValues: pairs)
                aSeeds[task] = Set(left.seeds.map(\.seed))
                bSeeds[task] = Set(right.seeds.map(\.seed))
                cells[task] = Cell(aVariant: left.variant, bMethod: right.method, bVariant: right.variant,
                                   seeds: pairs.map(\.0), differences: pairs.map(\.1), aSeeds: left.seeds.map(\.seed),
                                   bSeeds: right.seeds.map(\.seed), bootstrap: bootstrap)
            }
            guard !cells.isEmpty else { return nil }
            var average: Cell?
            let required = grid.tasks
            if !required.isEmpty, required.allSatisfy({ cells[$0] != nil }) {
                func inEveryTask(_ seeds: [String: Set<Int>]) -> Set<Int> {
                    required.dropFirst().reduce(seeds[required[0]]!) { $0.intersection(seeds[$1]!) }
                }
                let aEverywhere = inEveryTask(aSeeds), bEverywhere = inEveryTask(bSeeds)
                let seeds = aEverywhere.intersection(bEverywhere).sorted()
                if !seeds.isEmpty {
                    let differences = seeds.map { seed in Statistics.mean(required.map { perSeed[$0]![seed]! })! }
                    average = Cell(aVariant: nil, bMethod: nil, bVariant: nil, seeds: seeds, differences: differences,
                                   aSeeds: aEverywhere.sorted(), bSeeds: bEverywhere.sorted(), bootstrap: bootstrap)
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

    /// CSV: one line per K and task, then the task average (`avg`): B's method, pairs and each side's runs,
    /// mean difference A − B, both intervals, wins, ties, losses.
    public func csv() -> String {
        var table = CSVTable(header: ["k", "task", "a", "b", "n", "a_n", "b_n", "mean_difference", "ci95_low", "ci95_high",
                                      "t_ci95_low", "t_ci95_high", "wins", "ties", "losses"])
        for row in rows {
            for (task, cell) in tasks.compactMap({ task in row.tasks[task].map { (task, $0) } })
                + (row.average.map { [("avg", $0)] } ?? []) {
                let bounds = [cell.interval, cell.tInterval].flatMap { interval in
                    [interval?.low, interval?.high].map { $0.map(CSVTable.signed) ?? "" }
                }
                table.append([row.k, task, a, cell.bMethod ?? b.name, String(cell.n), String(cell.aN), String(cell.bN),
                              CSVTable.signed(cell.meanDifference)] + bounds
                             + [String(cell.wins), String(cell.ties), String(cell.losses)])
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
