import Foundation
import Tensor

/// The files `unipelt train` leaves beside its checkpoints: `metrics.csv` (one row per evaluation), `gates.csv`
/// (one row per evaluation, layer and gate) and `result.json` (spec, outcome, result).
public enum RunFiles {
    /// What `result.json` holds. `result` is nil when the run stopped before finishing.
    public struct Summary: Codable, Equatable, Sendable {
        public let spec: TrainingSpec
        public let status: String
        public let result: TrainingResult?
        public let wallSeconds: Double
        /// The OpenBLAS kernels that ran (`OPENBLAS_CORETYPE` or the library's own pick): float rounding, and so
        /// the exact result, depends on them. Absent in files from before it was recorded.
        public let blasKernels: String?
    }

    public static func write(trainer: Trainer, outcome: TrainingOutcome, seconds: Double, to directory: String) throws {
        let evaluations = trainer.state.evaluations
        let metricNames = trainer.task.metrics.map(\.rawValue)
        try save(metricsCSV(evaluations, metricNames: metricNames), to: directory, name: "metrics.csv")
        try save(gatesCSV(evaluations), to: directory, name: "gates.csv")
        let (status, result): (String, TrainingResult?)
        switch outcome {
        case let .finished(finished): (status, result) = ("finished", finished)
        case let .stopped(request, _): (status, result) = (request == .cancel ? "cancelled" : "suspended", nil)
        }
        let summary = Summary(spec: trainer.spec, status: status, result: result, wallSeconds: seconds,
                              blasKernels: BLAS.coreName)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try save(String(decoding: try encoder.encode(summary), as: UTF8.self) + "\n", to: directory, name: "result.json")
    }

    public static func readSummary(path: String) throws -> Summary {
        guard let data = FileManager.default.contents(atPath: path) else { throw TrainingError.missingData(path: path) }
        return try JSONDecoder().decode(Summary.self, from: data)
    }

    /// `step,epoch,train_loss,dev_loss,dev_<metric>…,test_<metric>…,is_best`.
    public static func metricsCSV(_ evaluations: [EvaluationRecord], metricNames: [String]) -> String {
        let header = ["step", "epoch", "train_loss", "dev_loss"] + metricNames.map { "dev_\($0)" }
            + metricNames.map { "test_\($0)" } + ["is_best"]
        let rows = evaluations.map { e -> String in
            ([String(e.step), String(e.epoch), number(e.trainLoss), number(e.devLoss)]
                + metricNames.map { number(e.devMetrics[$0]) } + metricNames.map { number(e.testMetrics[$0]) }
                + [e.isBest ? "1" : "0"]).joined(separator: ",")
        }
        return ([header.joined(separator: ",")] + rows).joined(separator: "\n") + "\n"
    }

    /// `step,layer,submodule,mean` with the gate means over the dev set.
    public static func gatesCSV(_ evaluations: [EvaluationRecord]) -> String {
        let rows = evaluations.flatMap { e in
            e.gates.map { "\(e.step),\($0.layer),\($0.submodule),\(number($0.mean))" }
        }
        return (["step,layer,submodule,mean"] + rows).joined(separator: "\n") + "\n"
    }

    private static func number(_ value: Double?) -> String {
        value.map { String(format: "%.6g", $0) } ?? ""
    }

    private static func save(_ text: String, to directory: String, name: String) throws {
        let path = (directory as NSString).appendingPathComponent(name)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw TrainingError.writeFailure(path: path, cause: error)
        }
    }
}
