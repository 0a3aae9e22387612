import Foundation

/// The paper's Table 1 layout for one sweep: for each K, one row per method and one column per task
/// with mean ± std over seeds of the best-dev checkpoint's test metric, plus the average over tasks.
/// Values are on the paper's 0–100 scale.
public struct ResultsTable: Sendable {
    /// One (task, K, method) cell's per-seed test metrics, on the metric's own scale (0–1).
    public struct Cell: Sendable {
        public var task: String
        public var k: String
        public var method: String
        public var seedValues: [(seed: Int, value: Double)]

        public init(task: String, k: String, method: String, seedValues: [(seed: Int, value: Double)]) {
            self.task = task
            self.k = k
            self.method = method
            self.seedValues = seedValues
        }

        public var mean: Double { seedValues.map(\.value).reduce(0, +) / Double(seedValues.count) }

        /// Sample standard deviation (n − 1); 0 for a single seed.
        public var standardDeviation: Double {
            guard seedValues.count > 1 else { return 0 }
            let mean = self.mean
            let squares = seedValues.map { ($0.value - mean) * ($0.value - mean) }.reduce(0, +)
            return (squares / Double(seedValues.count - 1)).squareRoot()
        }
    }

    public let cells: [Cell]
    /// Column order: tasks in the order given (GLUE order), methods in the order given.
    public let taskOrder: [String]
    public let methodOrder: [String]

    public init(cells: [Cell], taskOrder: [String], methodOrder: [String]) {
        let kept = cells.filter { !$0.seedValues.isEmpty }
        self.cells = kept
        self.taskOrder = taskOrder.filter { task in kept.contains { $0.task == task } }
        self.methodOrder = methodOrder.filter { method in kept.contains { $0.method == method } }
    }

    /// K values in first-seen order.
    public var kValues: [String] {
        var seen = Set<String>()
        return cells.map(\.k).filter { seen.insert($0).inserted }
    }

    private func cell(k: String, method: String, task: String) -> Cell? {
        cells.first { $0.k == k && $0.method == method && $0.task == task }
    }

    /// Mean over tasks of the per-task means; nil unless every task of the table has a value, so an
    /// average never silently covers fewer tasks than its neighbours.
    public func average(k: String, method: String) -> Double? {
        let means = taskOrder.compactMap { cell(k: k, method: method, task: $0)?.mean }
        guard means.count == taskOrder.count, !means.isEmpty else { return nil }
        return means.reduce(0, +) / Double(means.count)
    }

    /// CSV: `k,method,<task>…,avg`, each task cell `mean ± std` on the 0–100 scale, empty when missing.
    public func csv() -> String {
        var lines = [(["k", "method"] + taskOrder + ["avg"]).joined(separator: ",")]
        for k in kValues {
            for method in methodOrder where taskOrder.contains(where: { cell(k: k, method: method, task: $0) != nil }) {
                let columns = taskOrder.map { task in
                    cell(k: k, method: method, task: task).map { Self.format($0.mean, $0.standardDeviation) } ?? ""
                }
                let average = self.average(k: k, method: method).map { String(format: "%.2f", $0 * 100) } ?? ""
                lines.append(([k, method] + columns + [average]).joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func format(_ mean: Double, _ std: Double) -> String {
        String(format: "%.2f ± %.2f", mean * 100, std * 100)
    }

    /// JSON-ready rows: per (K, method), each task's mean, std, n and per-seed values (0–100 scale).
    public struct Row: Encodable, Sendable {
        public struct TaskResult: Encodable, Sendable {
            public let mean: Double
            public let std: Double
            public let n: Int
            public let seeds: [Int]
            public let values: [Double]
        }
        public let object = "results.row"
        public let k: String
        public let method: String
        public let tasks: [String: TaskResult]
        public let average: Double?
    }

    public func rows() -> [Row] {
        kValues.flatMap { k in
            methodOrder.compactMap { method -> Row? in
                var tasks: [String: Row.TaskResult] = [:]
                for task in taskOrder {
                    guard let cell = cell(k: k, method: method, task: task) else { continue }
                    tasks[task] = Row.TaskResult(mean: cell.mean * 100, std: cell.standardDeviation * 100,
                                                 n: cell.seedValues.count, seeds: cell.seedValues.map(\.seed),
                                                 values: cell.seedValues.map { $0.value * 100 })
                }
                guard !tasks.isEmpty else { return nil }
                return Row(k: k, method: method, tasks: tasks, average: average(k: k, method: method).map { $0 * 100 })
            }
        }
    }
}
