import Text

/// Which variants a table shows when a sweep swept hyperparameters.
public enum VariantView: String, CaseIterable, Sendable {
    /// Per task × K × method the variant with the best mean dev metric (the paper's protocol).
    case selected
    /// Every variant on its own line.
    case all
}

/// The paper's Table 1 layout: for each K, one line per method (per method and variant with `.all`) and one
/// column per task with mean ± std over seeds of the best-dev state's test metric, plus the average over tasks.
/// Values are on the paper's 0–100 scale.
public struct Table1: Sendable {
    public let tasks: [String]
    public let rows: [Row]
    /// Whether a line's tasks may come from different variants, so the CSV names each task's variant.
    public let namesVariantsPerTask: Bool

    public struct TaskResult: Encodable, Equatable, Sendable {
        @EncodedAsNull public var metric: String?
        public let mean: Double
        /// Sample standard deviation; null for a single seed.
        @EncodedAsNull public var std: Double?
        public let n: Int
        public let seeds: [Int]
        public let values: [Double]
        public let jobIDs: [String]
        /// All jobs of the cell, finished or not.
        public let jobCount: Int
        /// The variant these values come from.
        public let variant: String
        /// Its mean best-dev metric (what selection ranked by); null when the results carry none.
        @EncodedAsNull public var devMean: Double?
        /// How many variants of this task × K × method there were to choose from.
        public let variantCount: Int

        enum CodingKeys: String, CodingKey {
            case metric, mean, std, n, seeds, values, jobIDs = "job_ids", jobCount = "job_count", variant
            case devMean = "dev_mean", variantCount = "variant_count"
        }

        init(_ cell: ResultCell, variantCount: Int) {
            metric = cell.metric
            mean = (cell.mean ?? 0) * 100
            std = cell.standardDeviation.map { $0 * 100 }
            n = cell.seeds.count
            seeds = cell.seeds.map(\.seed)
            values = cell.seeds.map { $0.test * 100 }
            jobIDs = cell.seeds.map(\.id)
            jobCount = cell.jobCount
            variant = cell.variant
            devMean = cell.devMean.map { $0 * 100 }
            self.variantCount = variantCount
        }
    }

    public struct Row: Encodable, Equatable, Sendable {
        public let object = "results.row"
        public let k: String
        public let method: String
        /// The line's variant; with selection, the variant every task chose, or `(per task)` when they differ.
        public let variant: String
        /// `dev` when each task's variant was selected by mean dev metric, null when every variant has its line.
        @EncodedAsNull public var selectedBy: String?
        public let tasks: [String: TaskResult]
        /// Mean over tasks of the task means; null unless every task of the table has a value, so an average
        /// never silently covers fewer tasks than its neighbours.
        @EncodedAsNull public var average: Double?

        enum CodingKeys: String, CodingKey {
            case object, k, method, variant, selectedBy = "selected_by", tasks, average
        }
    }

    static let mixedVariants = "(per task)"

    public init(_ grid: ResultGrid, variants view: VariantView) {
        tasks = grid.tasks
        var rows: [Row] = []
        for k in grid.kValues {
            for method in grid.methods {
                switch view {
                case .selected:
                    var results: [String: TaskResult] = [:]
                    for task in grid.tasks {
                        let count = grid.variants(task: task, k: k, method: method).count
                        if let cell = grid.selected(task: task, k: k, method: method) {
                            results[task] = TaskResult(cell, variantCount: count)
                        }
                    }
                    guard !results.isEmpty else { continue }
                    let chosen = Set(results.values.map(\.variant))
                    rows.append(Self.row(k: k, method: method, variant: chosen.count == 1 ? chosen.first! : Self.mixedVariants,
                                         selectedBy: "dev", tasks: results, required: grid.tasks))
                case .all:
                    let cells = grid.cells.filter { $0.k == k && $0.method == method }
                    for variant in Array(Set(cells.map(\.variant))).sorted() {
                        var results: [String: TaskResult] = [:]
                        for cell in cells where cell.variant == variant {
                            results[cell.task] = TaskResult(cell, variantCount: 1)
                        }
                        rows.append(Self.row(k: k, method: method, variant: variant, selectedBy: nil, tasks: results,
                                             required: grid.tasks))
                    }
                }
            }
        }
        self.rows = rows
        namesVariantsPerTask = view == .selected && grid.hasVariants
    }

    /// `required`: the table's tasks; the average needs a mean for every one.
    private static func row(k: TrainingSize, method: String, variant: String, selectedBy: String?,
                            tasks: [String: TaskResult], required: [String]) -> Row {
        let means = required.compactMap { tasks[$0]?.mean }
        let average = means.count == required.count && !means.isEmpty ? means.reduce(0, +) / Double(means.count) : nil
        return Row(k: k.description, method: method, variant: variant, selectedBy: selectedBy, tasks: tasks,
                   average: average)
    }

    /// CSV: `k,method,variant,<task>…,avg`; each task cell `mean ± std` (`mean` alone for a single seed), empty
    /// when missing. When selection chose among variants, `<task> variant` columns follow, naming each winner.
    public func csv() -> String {
        let variantColumns = namesVariantsPerTask ? tasks.map { "\($0) variant" } : []
        var table = CSVTable(header: ["k", "method", "variant"] + tasks + ["avg"] + variantColumns)
        for row in rows {
            let cells = tasks.map { task in row.tasks[task].map(Self.format) ?? "" }
            let winners = namesVariantsPerTask ? tasks.map { row.tasks[$0]?.variant ?? "" } : []
            table.append([row.k, row.method, row.variant] + cells + [row.average.map(CSVTable.fixed) ?? ""] + winners)
        }
        return table.text
    }

    static func format(_ result: TaskResult) -> String {
        CSVTable.fixed(result.mean) + (result.std.map { " ± " + CSVTable.fixed($0) } ?? "")
    }
}
