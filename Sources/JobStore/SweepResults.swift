// The results table of a sweep (service.md §3 item 14): per (task, K, method, variant), the mean
// and sample standard deviation over seeds of each succeeded job's best test metric, which the
// worker stores in the job's result JSON at `metricPath` as {"name": …, "value": …}.
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
    /// The metric's name as the results report it (nil if no job of the row has a result yet).
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
    /// The default place of the best test metric in a job's result JSON.
    public static var testMetricPath: String { "$.test_metric" }

    /// One row per (task, K, method, variant) of the sweep, ordered by task, K (numbers first, then
    /// "all"), method and variant.
    public func sweepResults(sweepID: String, metricPath: String = testMetricPath) throws -> [SweepResultRow] {
        _ = try sweep(id: sweepID)
        struct Cell { let task, k, method, variant: String; let seed: Int; let jobID: String; let name: String?; let value: Double? }
        let cells = try connection.query("""
            SELECT task, k, method, variant, seed, id,
                   iif(status = 'succeeded', json_extract(result, ?2 || '.name'), NULL),
                   iif(status = 'succeeded', json_extract(result, ?2 || '.value'), NULL)
            FROM jobs WHERE sweep_id = ?1 ORDER BY seed, seq
            """, [.text(sweepID), .text(metricPath)]) { row in
            Cell(task: row.text(0), k: row.text(1), method: row.text(2), variant: row.text(3), seed: row.int(4),
                 jobID: row.text(5), name: row.optionalText(6), value: row.optionalDouble(7))
        }
        struct GroupKey: Hashable { let task, k, method, variant: String }
        let groups = Dictionary(grouping: cells) { GroupKey(task: $0.task, k: $0.k, method: $0.method, variant: $0.variant) }
        let rows = groups.map { key, cells -> SweepResultRow in
            let seeds = cells.compactMap { cell in cell.value.map { SeedResult(seed: cell.seed, jobID: cell.jobID, value: $0) } }
            return SweepResultRow(task: key.task, k: KShot(stored: key.k), method: key.method, variant: key.variant,
                                  metricName: cells.lazy.compactMap(\.name).first, seeds: seeds, jobCount: cells.count)
        }
        return rows.sorted { a, b in
            func kOrder(_ k: KShot) -> Int { if case .examples(let count) = k { return count } else { return Int.max } }
            return (a.task, kOrder(a.k), a.method, a.variant) < (b.task, kOrder(b.k), b.method, b.variant)
        }
    }
}
