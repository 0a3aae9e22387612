import Text

/// A UniPELT method and the single methods it combines: its Table 2 upper bound is, per task, the best of these.
public struct Combination: Equatable, Sendable {
    public let method: String
    public let submodules: [String]

    /// The paper's Table 2 pairs: UniPELT (AP) against adapter and prefix, UniPELT (APL) against all three.
    public static let unipelt = [
        Combination(method: "unipelt-ap", submodules: ["adapter", "prefix"]),
        Combination(method: "unipelt-apl", submodules: ["adapter", "prefix", "lora"]),
    ]

    public static func of(_ method: String) -> Combination? { unipelt.first { $0.method == method } }
}

/// The paper's Table 2: per K and UniPELT method, each task's UniPELT result against the upper bound of its
/// submodules (per task the best submodule's mean) and the margin, averaged over tasks. Also paired by seed:
/// on the seeds where UniPELT and every submodule ran, the per-seed upper bound and margin. Every method's
/// variant is the dev-selected one. Values are on the 0–100 scale.
public struct Table2: Sendable {
    public let tasks: [String]
    public let rows: [Row]

    public struct SeedEntry: Encodable, Equatable, Sendable {
        public let seed: Int
        public let value: Double
        public let upperBound: Double
        public let upperBoundMethod: String
        public let margin: Double

        enum CodingKeys: String, CodingKey {
            case seed, value, upperBound = "upper_bound", upperBoundMethod = "upper_bound_method", margin
        }
    }

    public struct Paired: Encodable, Equatable, Sendable {
        public let seeds: [SeedEntry]
        public let upperBound: Double
        public let margin: Double

        enum CodingKeys: String, CodingKey { case seeds, upperBound = "upper_bound", margin }
    }

    public struct TaskEntry: Encodable, Equatable, Sendable {
        /// The UniPELT method's mean.
        public let value: Double
        public let upperBound: Double
        /// The submodule whose mean is the upper bound.
        public let upperBoundMethod: String
        public let margin: Double
        /// Each submodule's mean.
        public let submodules: [String: Double]
        /// The dev-selected variant of UniPELT and of each submodule.
        public let variants: [String: String]
        /// Null when no seed has every method's run.
        @EncodedAsNull public var paired: Paired?

        enum CodingKeys: String, CodingKey {
            case value, upperBound = "upper_bound", upperBoundMethod = "upper_bound_method", margin, submodules, variants
            case paired
        }
    }

    public struct Average: Encodable, Equatable, Sendable {
        public let value: Double
        public let upperBound: Double
        public let margin: Double
        /// Means over tasks of the paired upper bounds and margins; null unless every task has them.
        @EncodedAsNull public var pairedUpperBound: Double?
        @EncodedAsNull public var pairedMargin: Double?

        enum CodingKeys: String, CodingKey {
            case value, upperBound = "upper_bound", margin, pairedUpperBound = "paired_upper_bound", pairedMargin = "paired_margin"
        }
    }

    public struct Row: Encodable, Equatable, Sendable {
        public let object = "table2.row"
        public let k: String
        public let method: String
        public let submodules: [String]
        public let tasks: [String: TaskEntry]
        /// Over the tasks of the table; null unless every task has an entry.
        @EncodedAsNull public var average: Average?

        enum CodingKeys: String, CodingKey { case object, k, method, submodules, tasks, average }
    }

    public init(_ grid: ResultGrid, combinations: [Combination] = Combination.unipelt) {
        tasks = grid.tasks
        rows = grid.kValues.flatMap { k in
            combinations.compactMap { combination -> Row? in
                var entries: [String: TaskEntry] = [:]
                for task in grid.tasks {
                    entries[task] = Self.entry(grid, task: task, k: k, combination: combination)
                }
                guard !entries.isEmpty else { return nil }
                let required = grid.tasks
                let complete = required.compactMap { entries[$0] }
                var average: Average?
                if complete.count == required.count, let value = Statistics.mean(complete.map(\.value)),
                   let upperBound = Statistics.mean(complete.map(\.upperBound)) {
                    let paired = complete.compactMap(\.paired)
                    let allPaired = paired.count == complete.count
                    average = Average(value: value, upperBound: upperBound, margin: value - upperBound,
                                      pairedUpperBound: allPaired ? Statistics.mean(paired.map(\.upperBound)) : nil,
                                      pairedMargin: allPaired ? Statistics.mean(paired.map(\.margin)) : nil)
                }
                return Row(k: k.description, method: combination.method, submodules: combination.submodules,
                           tasks: entries, average: average)
            }
        }
    }

    /// The dev-selected cell of the submodule with the best test mean on one task × K: the upper bound's method.
    static func upperBound(_ grid: ResultGrid, task: String, k: TrainingSize, submodules: [String]) -> ResultCell? {
        let cells = submodules.compactMap { grid.selected(task: task, k: k, method: $0) }
        guard cells.count == submodules.count else { return nil }
        return cells.reduce(nil as ResultCell?) { best, cell in
            guard let best else { return cell }
            return cell.mean! > best.mean! ? cell : best
        }
    }

    private static func entry(_ grid: ResultGrid, task: String, k: TrainingSize, combination: Combination) -> TaskEntry? {
        guard let unified = grid.selected(task: task, k: k, method: combination.method),
              let bound = upperBound(grid, task: task, k: k, submodules: combination.submodules) else { return nil }
        let parts = combination.submodules.map { grid.selected(task: task, k: k, method: $0)! }
        let seeds: [SeedEntry] = unified.seeds.compactMap { run in
            let values = parts.compactMap { part in part.value(seed: run.seed).map { (part.method, $0) } }
            guard values.count == parts.count else { return nil }
            let best = values.reduce(values[0]) { $1.1 > $0.1 ? $1 : $0 }
            return SeedEntry(seed: run.seed, value: run.test * 100, upperBound: best.1 * 100, upperBoundMethod: best.0,
                             margin: (run.test - best.1) * 100)
        }
        let paired = seeds.isEmpty ? nil
            : Paired(seeds: seeds, upperBound: Statistics.mean(seeds.map(\.upperBound))!,
                     margin: Statistics.mean(seeds.map(\.margin))!)
        let value = unified.mean! * 100, upperBound = bound.mean! * 100
        var variants = [combination.method: unified.variant]
        for part in parts { variants[part.method] = part.variant }
        return TaskEntry(value: value, upperBound: upperBound, upperBoundMethod: bound.method, margin: value - upperBound,
                         submodules: Dictionary(uniqueKeysWithValues: parts.map { ($0.method, $0.mean! * 100) }),
                         variants: variants, paired: paired)
    }

    /// CSV: per K and UniPELT method five lines — the method's means, the upper bound (with its submodule),
    /// the margin, the paired upper bound and the paired margin (with the number of seeds) — one column per
    /// task and the average.
    public func csv() -> String {
        var table = CSVTable(header: ["k", "method", "line"] + tasks + ["avg"])
        for row in rows {
            func line(_ name: String, _ cell: (TaskEntry) -> String?, average: String?) {
                table.append([row.k, row.method, name] + tasks.map { task in row.tasks[task].flatMap(cell) ?? "" }
                             + [average ?? ""])
            }
            line(row.method, { CSVTable.fixed($0.value) }, average: row.average.map { CSVTable.fixed($0.value) })
            line("upper bound", { CSVTable.fixed($0.upperBound) + " (\($0.upperBoundMethod))" },
                 average: row.average.map { CSVTable.fixed($0.upperBound) })
            line("margin", { CSVTable.signed($0.margin) }, average: row.average.map { CSVTable.signed($0.margin) })
            line("paired upper bound", { $0.paired.map { CSVTable.fixed($0.upperBound) } },
                 average: row.average?.pairedUpperBound.map(CSVTable.fixed))
            line("paired margin", { $0.paired.map { CSVTable.signed($0.margin) + " (n=\($0.seeds.count))" } },
                 average: row.average?.pairedMargin.map(CSVTable.signed))
        }
        return table.text
    }
}
