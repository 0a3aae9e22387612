// The result rows of a sweep, one per job, for the tables built over them (mean and std over seeds,
// selection by dev, comparisons): the store hands out the numbers, the statistics are computed elsewhere.
// The store does not know the result's schema: the numbers are read from the result JSON at JSON paths,
// by default those of the trainer's result as the service stores it,
// {"metric": "accuracy", "test_metric": 0.71, "best_dev_metric": 0.7, "best_step": 40, …}
// (ServiceTests' ResultKeysTests stores a real one and reads it back at these paths).
import Foundation

/// One job of a sweep and, when it succeeded, the numbers its result reports.
public struct SweepRun: Equatable, Sendable {
    public let jobID: String
    public let task: String
    public let k: KShot
    public let seed: Int
    public let method: String
    public let variant: String
    public let succeeded: Bool
    /// Nil unless the job succeeded; a number only when the result holds one at the path.
    public let metricName: String?
    public let testMetric: Double?
    public let devMetric: Double?
}

/// Where the numbers are in a job's result JSON.
public struct ResultPaths: Sendable {
    public var testMetric = "$.test_metric"
    public var metricName = "$.metric"
    public var devMetric = "$.best_dev_metric"
    /// The step of the best-dev state, whose gate values are the job's best-checkpoint gates.
    public var bestStep = "$.best_step"

    public init() {}
}

/// A gate value of a succeeded job at its best step.
public struct BestGate: Equatable, Sendable {
    public let jobID: String
    public let layer: Int
    public let submodule: GateSubmodule
    public let value: Double
}

extension StoreReader {
    /// Every job of the sweep, ordered by seed and creation.
    public func sweepRuns(sweepID: String, paths: ResultPaths = ResultPaths()) throws -> [SweepRun] {
        _ = try sweep(id: sweepID)
        return try connection.query("""
            SELECT id, task, k, seed, method, variant, status = 'succeeded',
                   iif(status = 'succeeded', json_extract(result, ?3), NULL),
                   iif(status = 'succeeded' AND json_type(result, ?2) IN ('integer', 'real'), json_extract(result, ?2), NULL),
                   iif(status = 'succeeded' AND json_type(result, ?4) IN ('integer', 'real'), json_extract(result, ?4), NULL)
            FROM jobs WHERE sweep_id = ?1 ORDER BY seed, seq
            """, [.text(sweepID), .text(paths.testMetric), .text(paths.metricName), .text(paths.devMetric)]) { row in
            SweepRun(jobID: row.text(0), task: row.text(1), k: KShot(stored: row.text(2)), seed: row.int(3),
                     method: row.text(4), variant: row.text(5), succeeded: row.int(6) != 0,
                     metricName: row.optionalText(7), testMetric: row.optionalDouble(8), devMetric: row.optionalDouble(9))
        }
    }

    /// The gate values of the sweep's succeeded jobs at the step their result names as best.
    public func sweepBestGates(sweepID: String, paths: ResultPaths = ResultPaths()) throws -> [BestGate] {
        _ = try sweep(id: sweepID)
        return try connection.query("""
            SELECT g.job_id, g.layer, g.submodule, g.value
            FROM jobs j JOIN gates g ON g.job_id = j.id AND g.step = json_extract(j.result, ?2)
            WHERE j.sweep_id = ?1 AND j.status = 'succeeded'
            ORDER BY j.seq, g.layer, g.submodule
            """, [.text(sweepID), .text(paths.bestStep)]) { row in
            BestGate(jobID: row.text(0), layer: row.int(1), submodule: try GateSubmodule(stored: row.text(2)),
                     value: row.double(3))
        }
    }
}
