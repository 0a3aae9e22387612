// Metric and gate history, ascending by step, paged by `after_step`, with server-side
// downsampling: of the steps after `afterStep`, at most `maxPoints` evenly spaced ones are kept,
// always including the first and the last (MLflow's chart sampling). `limit` then bounds how
// many of those steps one page returns; every row at a kept step is returned.
import Foundation

public struct StepWindow: Equatable, Sendable {
    /// Only steps greater than this.
    public var afterStep: Int?
    /// The most steps in one page.
    public var limit: Int
    /// Downsample to at most this many steps.
    public var maxPoints: Int?
    /// Leave out a job's newest step while the job has not ended. Such a job writes one step's rows in more than
    /// one transaction (its training values, then, after an evaluation, its dev and test values and gates), so
    /// its newest step may not be whole yet; a reader that follows `nextAfterStep` (a live stream) would never
    /// see the step's later rows. The step comes once a later step is written or the job ends.
    public var wholeStepsOnly = false

    public init(afterStep: Int? = nil, limit: Int, maxPoints: Int? = nil) {
        self.afterStep = afterStep
        self.limit = limit
        self.maxPoints = maxPoints
    }
}

public struct StepPage<Point: Equatable & Sendable>: Equatable, Sendable {
    /// Ascending by step.
    public let points: [Point]
    public let hasMore: Bool
    /// The `afterStep` of the next page: the last step of this one (nil if the page is empty).
    public let nextAfterStep: Int?
}

extension StoreReader {
    /// Metric rows of a job, optionally only those named in `names`.
    public func metrics(jobID: String, names: [String]? = nil, window: StepWindow) throws -> StepPage<MetricPoint> {
        try stepPage(jobID: jobID, table: "metrics",
                     filter: "(?3 IS NULL OR name IN (SELECT value FROM json_each(?3)))",
                     [.string(try names.map(jsonArray))], window: window,
                     select: "SELECT \(MetricPoint.columns)", order: "name", row: MetricPoint.init(row:))
    }

    /// Gate values of a job, optionally of one layer and/or one submodule.
    public func gates(jobID: String, layer: Int? = nil, submodule: GateSubmodule? = nil,
                      window: StepWindow) throws -> StepPage<GatePoint> {
        try stepPage(jobID: jobID, table: "gates",
                     filter: "(?3 IS NULL OR layer = ?3) AND (?4 IS NULL OR submodule = ?4)",
                     [.int(layer), .string(submodule?.rawValue)], window: window,
                     select: "SELECT \(GatePoint.columns)", order: "layer, submodule", row: GatePoint.init(row:))
    }

    /// Pages a per-step table. `filter` may use parameters ?3 and up, bound from `filterArguments`.
    private func stepPage<Point>(jobID: String, table: String, filter: String, _ filterArguments: [SQLiteValue?],
                                 window: StepWindow, select: String, order: String,
                                 row: (Statement) throws -> Point) throws -> StepPage<Point> {
        let ended = try job(id: jobID).status.isTerminal
        var allSteps = try connection.query("""
            SELECT DISTINCT step FROM \(table) WHERE job_id = ?1 AND step > ?2 AND \(filter) ORDER BY step
            """, [.text(jobID), .integer(window.afterStep ?? -1)] + filterArguments) { $0.int(0) }
        if window.wholeStepsOnly && !ended,
           let newest = try connection.queryOne("SELECT max(step) FROM \(table) WHERE job_id = ?1", [.text(jobID)],
                                                { $0.optionalInt(0) }) ?? nil,
           allSteps.last == newest {
            allSteps.removeLast()
        }
        let kept = window.maxPoints.map { evenlySpaced(allSteps, maxPoints: $0) } ?? allSteps
        let pageSteps = Array(kept.prefix(window.limit))
        let points = try connection.query("""
            \(select) FROM \(table)
            WHERE job_id = ?1 AND step IN (SELECT value FROM json_each(?2)) AND \(filter)
            ORDER BY step, \(order)
            """, [.text(jobID), .text(try jsonArray(pageSteps))] + filterArguments, row)
        return StepPage(points: points, hasMore: kept.count > pageSteps.count, nextAfterStep: pageSteps.last)
    }
}

/// At most `maxPoints` of `steps` at evenly spaced positions, first and last included.
func evenlySpaced(_ steps: [Int], maxPoints: Int) -> [Int] {
    guard steps.count > maxPoints else { return steps }
    guard maxPoints > 1 else { return Array(steps.suffix(maxPoints)) }
    let stride = Double(steps.count - 1) / Double(maxPoints - 1)
    return (0..<maxPoints).map { steps[Int((Double($0) * stride).rounded())] }
}

private func jsonArray<T>(_ values: [T]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: values), as: UTF8.self)
}
