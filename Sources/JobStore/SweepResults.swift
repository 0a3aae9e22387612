// The results table of a sweep (service.md §3 item 14): per (task, K, method, variant), the mean
// and sample standard deviation over seeds of each succeeded job's best test metric. The store
// does not know the result's schema: the metric is read from the result JSON at two JSON paths,
// by default those of the trainer's result as the service stores it, {"metric": "accuracy",
// "test_metric": 0.71, …}.
import Foundation

public struct SeedResult: Equatable, Sendable {
    public let seed: Int
    public let jobID: String
    public let value: Double

    public init(seed: Int, jobID: String, value: Double) {
        self.seed = seed
        self.jobID = jobID
        self.value = value
    }
}

public struct SweepResultRow: Equatable, Sendable {
    public let task: String
    public let k: KShot
    public let method: String
    public let variant: String
    /// The metric's name, from the first seed with a value (nil if no seed has one yet).
    public let metricName: String?
    /// One value per succeeded job that reported the metric, by seed.
    public let seeds: [SeedResult]
    public let mean: Double?
    /// Sample standard deviation (n − 1); nil with fewer than two seeds.
    public let standardDeviation: Double?
    /// All jobs of the row, whatever their status.
    public let jobCount: Int

    /// A row with the statistics of `seeds` (the one place they are computed, for the store's results
    /// and for tables built from result files).
    public init(task: String, k: KShot, method: String, variant: String, metricName: String?,
                seeds: [SeedResult], jobCount: Int) {
        let values = seeds.map(\.value)
        let mean = values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
        self.task = task
        self.k = k
        self.method = method
        self.variant = variant
        self.metricName = metricName
        self.seeds = seeds
        self.mean = mean
        standardDeviation = mean.flatMap { mean in
            values.count < 2 ? nil
                : (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
        }
        self.jobCount = jobCount
    }
}

extension StoreReader {
    /// Where the default result JSON holds the best-dev state's test metric (a number)…
    public static var testMetricValuePath: String { "$.test_metric" }
    /// …and the metric's name.
    public static var testMetricNamePath: String { "$.metric" }

    /// One row per (task, K, method, variant) of the sweep, ordered by task, K (numbers first, then
    /// "all"), method and variant. A succeeded job whose result has no number at `valuePath` counts
    /// in `jobCount` but gives no seed value.
    public func sweepResults(sweepID: String, valuePath: String = testMetricValuePath,
                             namePath: String = testMetricNamePath) throws -> [SweepResultRow] {
        _ = try sweep(id: sweepID)
        struct Cell { let task, k, method, variant: String; let seed: Int; let jobID: String; let name: String?; let value: Double? }
        let cells = try connection.query("""
            SELECT task, k, method, variant, seed, id,
                   iif(status = 'succeeded', json_extract(result, ?2), NULL),
                   iif(status = 'succeeded' AND json_type(result, ?3) IN ('integer', 'real'),
                       json_extract(result, ?3), NULL)
            FROM jobs WHERE sweep_id = ?1 ORDER BY seed, seq
            """, [.text(sweepID), .text(namePath), .text(valuePath)]) { row in
            Cell(task: row.text(0), k: row.text(1), method: row.text(2), variant: row.text(3), seed: row.int(4),
                 jobID: row.text(5), name: row.optionalText(6), value: row.optionalDouble(7))
        }
        struct GroupKey: Hashable { let task, k, method, variant: String }
        let groups = Dictionary(grouping: cells) { GroupKey(task: $0.task, k: $0.k, method: $0.method, variant: $0.variant) }
        let rows = groups.map { key, cells -> SweepResultRow in
            let seeds = cells.compactMap { cell in cell.value.map { SeedResult(seed: cell.seed, jobID: cell.jobID, value: $0) } }
            return SweepResultRow(task: key.task, k: KShot(stored: key.k), method: key.method, variant: key.variant,
                                  metricName: cells.first { $0.value != nil }?.name, seeds: seeds, jobCount: cells.count)
        }
        return rows.sorted { a, b in
            func kOrder(_ k: KShot) -> Int { if case .examples(let count) = k { return count } else { return Int.max } }
            return (a.task, kOrder(a.k), a.method, a.variant) < (b.task, kOrder(b.k), b.method, b.variant)
        }
    }
}
