import Foundation
import JobStore

/// The paper's Table 1 layout for one sweep: for each K, one row per method (and hyperparameter variant)
/// and one column per task with mean ± std over seeds of the best-dev checkpoint's test metric, plus the
/// average over tasks. Values are on the paper's 0–100 scale.
///
/// The statistics over seeds come from `StoreReader.sweepResults` (mean and sample standard deviation,
/// n − 1), so there is one implementation of them; this type only lays them out.
public struct ResultsTable: Sendable {
    /// Cells with at least one seed's value, as the store aggregated them (metric on its own 0–1 scale).
    public let cells: [SweepResultRow]
    /// Column order: tasks in the order given (GLUE order), methods in the order given.
    public let taskOrder: [String]
    public let methodOrder: [String]

    public init(results: [SweepResultRow], taskOrder: [String], methodOrder: [String]) {
        let kept = results.filter { $0.mean != nil }
        cells = kept
        self.taskOrder = taskOrder.filter { task in kept.contains { $0.task == task } }
        self.methodOrder = methodOrder.filter { method in kept.contains { $0.method == method } }
    }

    /// K values ascending, `all` last.
    public var kValues: [String] {
        var seen = Set<String>()
        let ks = cells.map(\.k).filter { seen.insert($0.description).inserted }
        return ks.sorted { Self.order($0) < Self.order($1) }.map(\.description)
    }

    private static func order(_ k: KShot) -> Int {
        if case .examples(let count) = k { return count }
        return Int.max
    }

    /// One line per (K, method, variant) that has a value; variants in first-seen order.
    private var lines: [(k: String, method: String, variant: String)] {
        kValues.flatMap { k in
            methodOrder.flatMap { method -> [(k: String, method: String, variant: String)] in
                var seen = Set<String>()
                return cells.filter { $0.k.description == k && $0.method == method }
                    .map(\.variant).filter { seen.insert($0).inserted }
                    .map { (k, method, $0) }
            }
        }
    }

    private func cell(k: String, method: String, variant: String, task: String) -> SweepResultRow? {
        cells.first { $0.k.description == k && $0.method == method && $0.variant == variant && $0.task == task }
    }

    /// Mean over tasks of the per-task means; nil unless every task of the table has a value, so an
    /// average never silently covers fewer tasks than its neighbours.
    public func average(k: String, method: String, variant: String = "") -> Double? {
        let means = taskOrder.compactMap { cell(k: k, method: method, variant: variant, task: $0)?.mean }
        guard means.count == taskOrder.count, !means.isEmpty else { return nil }
        return means.reduce(0, +) / Double(means.count)
    }

    /// CSV: `k,method,variant,<task>…,avg`; each task cell `mean ± std` on the 0–100 scale (`mean` alone
    /// for a single seed), empty when missing.
    public func csv() -> String {
        var text = (["k", "method", "variant"] + taskOrder + ["avg"]).joined(separator: ",") + "\n"
        for line in lines {
            let columns = taskOrder.map { task in
                cell(k: line.k, method: line.method, variant: line.variant, task: task).map(Self.format) ?? ""
            }
            let average = self.average(k: line.k, method: line.method, variant: line.variant)
                .map { String(format: "%.2f", $0 * 100) } ?? ""
            text += ([line.k, line.method, Self.csvField(line.variant)] + columns + [average]).joined(separator: ",") + "\n"
        }
        return text
    }

    static func format(_ cell: SweepResultRow) -> String {
        let mean = String(format: "%.2f", (cell.mean ?? 0) * 100)
        return cell.standardDeviation.map { mean + String(format: " ± %.2f", $0 * 100) } ?? mean
    }

    /// Variants look like `learning_rate=0.0001/epochs=3`; quoted if they ever hold a comma or quote.
    private static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// JSON-ready rows: per (K, method, variant), each task's mean, std, n and per-seed values (0–100 scale).
    public struct Row: Encodable, Sendable {
        public struct TaskResult: Encodable, Sendable {
            public let metric: String?
            public let mean: Double
            /// Sample standard deviation; null for a single seed.
            public let std: Double?
            public let n: Int
            public let seeds: [Int]
            public let values: [Double]
            public let job_ids: [String]
            /// All jobs of the cell, finished or not.
            public let job_count: Int

            public func encode(to encoder: Encoder) throws {
                var container = encoder.container(keyedBy: DynamicKey.self)
                try container.encode(Nullable(metric), forKey: DynamicKey("metric"))
                try container.encode(mean, forKey: DynamicKey("mean"))
                try container.encode(Nullable(std), forKey: DynamicKey("std"))
                try container.encode(n, forKey: DynamicKey("n"))
                try container.encode(seeds, forKey: DynamicKey("seeds"))
                try container.encode(values, forKey: DynamicKey("values"))
                try container.encode(job_ids, forKey: DynamicKey("job_ids"))
                try container.encode(job_count, forKey: DynamicKey("job_count"))
            }
        }
        public let object = "results.row"
        public let k: String
        public let method: String
        public let variant: String
        public let tasks: [String: TaskResult]
        public let average: Double?

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: DynamicKey.self)
            try container.encode(object, forKey: DynamicKey("object"))
            try container.encode(k, forKey: DynamicKey("k"))
            try container.encode(method, forKey: DynamicKey("method"))
            try container.encode(variant, forKey: DynamicKey("variant"))
            try container.encode(tasks, forKey: DynamicKey("tasks"))
            try container.encode(Nullable(average), forKey: DynamicKey("average"))
        }
    }

    public func rows() -> [Row] {
        lines.map { line in
            var tasks: [String: Row.TaskResult] = [:]
            for task in taskOrder {
                guard let cell = cell(k: line.k, method: line.method, variant: line.variant, task: task),
                      let mean = cell.mean else { continue }
                tasks[task] = Row.TaskResult(metric: cell.metricName, mean: mean * 100,
                                             std: cell.standardDeviation.map { $0 * 100 }, n: cell.seeds.count,
                                             seeds: cell.seeds.map(\.seed), values: cell.seeds.map { $0.value * 100 },
                                             job_ids: cell.seeds.map(\.jobID), job_count: cell.jobCount)
            }
            return Row(k: line.k, method: line.method, variant: line.variant, tasks: tasks,
                       average: average(k: line.k, method: line.method, variant: line.variant).map { $0 * 100 })
        }
    }
}
