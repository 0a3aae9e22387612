import Analysis
import Foundation
import JobStore
import Text

/// The research tables of a sweep (or of a folder of runs), in one place for the API and `unipelt train
/// --summarize`: which table is asked for, and its JSON or CSV rendering of what `Analysis` computes.
public enum SweepReport: Sendable {
    case table1(VariantView)
    case table2
    case compare(a: String, b: Contender, bootstrap: PairedBootstrap)
    case gates(VariantView)

    public enum Format: String, CaseIterable, Sendable {
        case json, csv
    }

    /// A comparison request checked against the known methods; a bad name is a 400 naming `a` or `b`.
    public static func comparison(a: String?, b: String?, methods: [String],
                                  bootstrap: PairedBootstrap = PairedBootstrap()) throws -> SweepReport {
        guard let a else { throw APIError.missingParameter("a") }
        guard let b else { throw APIError.missingParameter("b") }
        guard methods.contains(a) else {
            throw APIError.invalidValue("a", "unknown method \"\(a)\"; expected one of \(methods.joined(separator: ", "))")
        }
        let contender = Contender(b)
        switch contender {
        case let .method(name) where !methods.contains(name):
            throw APIError.invalidValue("b", "unknown method \"\(name)\"; expected one of "
                                        + (methods + [Contender.bestSingleName]).joined(separator: ", "))
        case .bestSingle where Combination.of(a) == nil:
            throw APIError.invalidValue("b", "\(Contender.bestSingleName) needs a UniPELT method as a; expected a to be one of "
                                        + Combination.unipelt.map(\.method).joined(separator: ", "))
        default:
            return .compare(a: a, b: contender, bootstrap: bootstrap)
        }
    }

    /// Only the gate summary reads the gate rows.
    public var needsGates: Bool {
        if case .gates = self { return true }
        return false
    }

    /// The report over `runs` (gates by run id, at each run's best checkpoint): a JSON object, or CSV text.
    public func render(runs: [RunRecord], gates: [String: [GateReading]], taskOrder: [String], methodOrder: [String],
                       sweepID: String?, format: Format) throws -> String {
        let grid = ResultGrid(runs: runs, taskOrder: taskOrder, methodOrder: methodOrder)
        let sweep = Nullable(sweepID)
        switch self {
        case let .table1(view):
            let table = Table1(grid, variants: view)
            return format == .csv ? table.csv()
                : try Self.json(ResultsObject(sweep_id: sweep, table: 1, variants: view.rawValue, tasks: table.tasks,
                                                     data: table.rows))
        case .table2:
            let table = Table2(grid)
            return format == .csv ? table.csv()
                : try Self.json(ResultsObject(sweep_id: sweep, table: 2, variants: VariantView.selected.rawValue,
                                                     tasks: table.tasks, data: table.rows))
        case let .compare(a, b, bootstrap):
            let comparison = PairedComparison(grid, a: a, b: b, bootstrap: bootstrap)
            return format == .csv ? comparison.csv()
                : try Self.json(ComparisonObject(sweep_id: sweep, a: a, b: b.name, b_selection: b.selection,
                                                 bootstrap: bootstrap, data: comparison.rows))
        case let .gates(view):
            let summary = GateSummary(grid, gates: gates, variants: view)
            return format == .csv ? summary.csv()
                : try Self.json(GatesObject(sweep_id: sweep, variants: view.rawValue, data: summary.rows))
        }
    }

    private static func json<Value: Encodable>(_ value: Value) throws -> String {
        String(decoding: try APIJSON.encode(value), as: UTF8.self)
    }
}

// MARK: Response objects (values on the paper's 0–100 scale, gates on their own 0–1 scale)

/// Table 1 (`Table1.Row`) or Table 2 (`Table2.Row`).
struct ResultsObject<Row: Encodable>: Encodable {
    let object = "sweep.results"
    let sweep_id: Nullable<String>
    let scale = 100
    let table: Int
    /// `selected` (per task the best-dev variant) or `all`.
    let variants: String
    /// The table's columns in the paper's order: every task with a job, a task without values included.
    let tasks: [String]
    let data: [Row]
}

struct ComparisonObject: Encodable {
    let object = "sweep.comparison"
    let sweep_id: Nullable<String>
    let scale = 100
    let a: String
    let b: String
    /// How B's runs were chosen (for `best-single`: by test, with hindsight).
    let b_selection: String
    let bootstrap: PairedBootstrap
    let data: [PairedComparison.Row]
}

struct GatesObject: Encodable {
    let object = "sweep.gates"
    let sweep_id: Nullable<String>
    let variants: String
    let data: [GateSummary.Row]
}

extension RunRecord {
    /// A job row of the store as the tables see it.
    init(_ run: SweepRun) {
        let k: TrainingSize
        switch run.k {
        case let .examples(count): k = .k(count)
        case .all: k = .all
        }
        self.init(task: run.task, k: k, method: run.method, variant: run.variant, seed: run.seed, id: run.jobID,
                  outcome: run.testMetric.map { Outcome(metric: run.metricName, test: $0, dev: run.devMetric) })
    }
}

extension StoreReader {
    /// A sweep's runs and, when asked for, their best-checkpoint gates, as the report takes them.
    func reportInputs(sweepID: String, gates withGates: Bool) throws -> (runs: [RunRecord], gates: [String: [GateReading]]) {
        let runs = try sweepRuns(sweepID: sweepID).map(RunRecord.init)
        let gates = Dictionary(grouping: withGates ? try sweepBestGates(sweepID: sweepID) : [], by: \.jobID).mapValues { values in
            values.map { GateReading(layer: $0.layer, submodule: $0.submodule.rawValue, value: $0.value) }
        }
        return (runs, gates)
    }
}
