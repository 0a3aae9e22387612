import Analysis
import Foundation
import Model
import Service
import Text
import Training

/// `unipelt train --summarize DIR`: the sweep reports of the API (`SweepReport`) over a folder of runs
/// (`DIR/*/result.json`, and `gates.csv` for the gate summary), or over a saved job list of the service
/// (`DIR/jobs.json`, as `Tests/Scripts/save_sweep_record.sh` writes it from one or more sweeps).
enum SummarizeCommand {
    static let usage = """
           unipelt train --summarize DIR [--table 1|2] [--variants selected|all] [--compare A B] [--gates]
                         [--format csv|json] [--bootstrap-seed N]
                                         Table 1 (default), Table 2, a paired comparison of methods A and B
                                         (B may be best-single) or the best-checkpoint gate means, from
                                         DIR/*/result.json and gates.csv, or from a saved job list of the
                                         service: DIR/jobs.json and DIR/jobs/<task>-k<K>-s<seed>-<method>[-<name=value>…]/gates.csv
    """

    static func run(_ arguments: [String]) throws -> String {
        guard let directory = arguments.first, !directory.hasPrefix("--") else {
            throw TrainCommand.UsageError(description: "--summarize takes a folder")
        }
        var report = SweepReport.table1(.selected)
        var view = VariantView.selected
        var format = SweepReport.Format.csv
        var bootstrap = PairedBootstrap()
        var compare: (String, String)?
        var index = 1
        func value(_ name: String) throws -> String {
            guard index + 1 < arguments.count else { throw TrainCommand.UsageError(description: "\(name) needs a value") }
            index += 2
            return arguments[index - 1]
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--table":
                switch try value("--table") {
                case "1": report = .table1(view)
                case "2": report = .table2
                case let other: throw TrainCommand.UsageError(description: "--table takes 1 or 2, got '\(other)'")
                }
            case "--variants":
                let name = try value("--variants")
                guard let chosen = VariantView(rawValue: name) else {
                    throw TrainCommand.UsageError(description: "--variants takes selected or all, got '\(name)'")
                }
                view = chosen
            case "--format":
                let name = try value("--format")
                guard let chosen = SweepReport.Format(rawValue: name) else {
                    throw TrainCommand.UsageError(description: "--format takes csv or json, got '\(name)'")
                }
                format = chosen
            case "--bootstrap-seed":
                let text = try value("--bootstrap-seed")
                guard let seed = UInt64(text) else {
                    throw TrainCommand.UsageError(description: "--bootstrap-seed takes a non-negative integer, got '\(text)'")
                }
                bootstrap = PairedBootstrap(seed: seed)
            case "--compare":
                guard index + 2 < arguments.count else { throw TrainCommand.UsageError(description: "--compare takes two methods") }
                compare = (arguments[index + 1], arguments[index + 2])
                index += 3
            case "--gates":
                report = .gates(view)
                index += 1
            case let other:
                throw TrainCommand.UsageError(description: "unknown argument '\(other)' after --summarize")
            }
        }
        // --variants applies whatever its position among the flags.
        switch report {
        case .table1: report = .table1(view)
        case .gates: report = .gates(view)
        case .table2, .compare: break
        }
        if let (a, b) = compare {
            do {
                report = try SweepReport.comparison(a: a, b: b, methods: Method.allCases.map(\.rawValue), bootstrap: bootstrap)
            } catch let error as APIError {
                throw TrainCommand.UsageError(description: "--compare: \(error.message)")
            }
        }
        let runs = try RunFolder.read(directory, gates: report.needsGates)
        return try report.render(runs: runs.map(\.record), gates: runs.reduce(into: [:]) { $0[$1.record.id] = $1.gates },
                                 taskOrder: GLUETask.allNames, methodOrder: Method.allCases.map(\.rawValue),
                                 sweepID: nil, format: format) + (format == .json ? "\n" : "")
    }
}

/// One run folder as the reports take it.
struct RunFolder {
    let record: RunRecord
    /// Gate means at the best step (empty for methods without gates, or when not read).
    let gates: [GateReading]

    /// `DIR/jobs.json` when it exists, else every `DIR/*/result.json`; two runs of one seed in one cell are refused.
    static func read(_ directory: String, gates readGates: Bool) throws -> [RunFolder] {
        let jobList = (directory as NSString).appendingPathComponent("jobs.json")
        let folders = FileManager.default.fileExists(atPath: jobList)
            ? try SavedJob.read(jobList, gates: readGates) : try readRunFolders(directory, gates: readGates)
        // Two folders of one seed in one cell (a re-run, a copy) would count twice and break the pairing.
        var seen: [String: String] = [:]
        for folder in folders {
            let record = folder.record
            let key = "\(record.task)/\(record.k)/\(record.method)/\(record.variant)/seed \(record.seed)"
            if let other = seen.updateValue(record.id, forKey: key) {
                throw TrainCommand.UsageError(description: "\(other) and \(record.id) are both \(key): keep one of them")
            }
        }
        return folders
    }

    /// Every `DIR/*/result.json`. A swept hyperparameter — one that takes several values among the runs of a
    /// task × K × method — makes the run's variant (`learning_rate=0.0001`), as a sweep's job key does.
    private static func readRunFolders(_ directory: String, gates readGates: Bool) throws -> [RunFolder] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw TrainingError.missingData(path: directory)
        }
        var runs: [(name: String, summary: RunFiles.Summary, settings: [String: String])] = []
        for name in names.sorted() {
            let path = (directory as NSString).appendingPathComponent(name + "/result.json")
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let summary = try RunFiles.readSummary(path: path)
            runs.append((name, summary, try settings(summary.spec.hyperparameters)))
        }
        let groups = Dictionary(grouping: runs) { cellKey($0.summary.spec) }
        let folders = try runs.map { run in
            let group = groups[cellKey(run.summary.spec)]!
            let swept = run.settings.keys.sorted().filter { key in Set(group.map { $0.settings[key] }).count > 1 }
            let spec = run.summary.spec
            let record = RunRecord(
                task: spec.task, k: spec.k.map(TrainingSize.k) ?? .all, method: spec.method,
                variant: swept.map { "\($0)=\(run.settings[$0]!)" }.joined(separator: "/"), seed: spec.seed, id: run.name,
                outcome: run.summary.result.map { .init(metric: $0.metric, test: $0.testMetric, dev: $0.bestDevMetric) })
            let gatesPath = (directory as NSString).appendingPathComponent(run.name + "/gates.csv")
            let gates = try readGates ? run.summary.result.map { try bestGates(path: gatesPath, step: $0.bestStep) } ?? [] : []
            return RunFolder(record: record, gates: gates)
        }
        return folders
    }

    private static func cellKey(_ spec: TrainingSpec) -> String {
        "\(spec.task)/\(spec.k.map(String.init) ?? "all")/\(spec.method)"
    }

    /// The hyperparameters under their API names, as text.
    private static func settings(_ hyperparameters: Hyperparameters) throws -> [String: String] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let object = try JSONSerialization.jsonObject(with: try encoder.encode(hyperparameters)) as? [String: Any] ?? [:]
        return object.mapValues { "\($0)" }
    }

    /// The rows of `gates.csv` (`step,layer,submodule,mean`, or the service's `step,layer,module,value`) at
    /// `step`; none when the file is missing.
    fileprivate static func bestGates(path: String, step: Int) throws -> [GateReading] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 4, Int(fields[0]) == step, let layer = Int(fields[1]), let value = Double(fields[3])
            else { return nil }
            return GateReading(layer: layer, submodule: String(fields[2]), value: value)
        }
    }
}

/// A job as the service's job list gives it (`GET /v1/jobs`), with the fields the reports read: the tables
/// see it as the service's own reports do.
private struct SavedJob: Decodable {
    /// Optional throughout, as the service reads a stored result: one without a test metric gives no value.
    struct Result: Decodable {
        let metric: String?
        let testMetric: Double?
        let bestDevMetric: Double?
        let bestStep: Int?
    }

    /// `k` is a count or `"all"`.
    struct Size: Decodable {
        let value: TrainingSize

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let count = try? container.decode(Int.self) {
                value = .k(count)
            } else if try container.decode(String.self) == "all" {
                value = .all
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "k is a count or \"all\"")
            }
        }
    }

    let id: String
    /// `task/K=…/seed=…/method`, then the variant's swept hyperparameters.
    let key: String
    let status: String
    let task: String
    let k: Size
    let seed: Int
    let method: String
    let result: Result?

    /// The key's `name=value` parts after the method: the swept hyperparameters that set this job apart.
    private var sweptSettings: [String] { key.split(separator: "/").dropFirst(4).map(String.init) }

    var variant: String { sweptSettings.joined(separator: "/") }

    /// The job's folder under `jobs/` beside the list: `rte-k100-s1-lora`, then `-name=value` per swept
    /// hyperparameter.
    var folderName: String { (["\(task)-k\(k.value)-s\(seed)-\(method)"] + sweptSettings).joined(separator: "-") }

    /// The list's jobs by seed, then in list order; a succeeded job's gates at its best step from its folder.
    static func read(_ path: String, gates readGates: Bool) throws -> [RunFolder] {
        guard let data = FileManager.default.contents(atPath: path) else { throw TrainingError.missingData(path: path) }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let jobs: [SavedJob]
        do {
            jobs = try decoder.decode([SavedJob].self, from: data)
        } catch {
            throw TrainCommand.UsageError(description: "\(path) is not a saved job list of the service: \(error)")
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try jobs.enumerated().sorted { ($0.element.seed, $0.offset) < ($1.element.seed, $1.offset) }.map { _, job in
            let result = job.status == "succeeded" ? job.result : nil
            let record = RunRecord(task: job.task, k: job.k.value, method: job.method, variant: job.variant, seed: job.seed,
                                   id: job.id, outcome: result?.testMetric.map { .init(metric: result?.metric, test: $0,
                                                                                        dev: result?.bestDevMetric) })
            guard readGates, let bestStep = result?.bestStep else { return RunFolder(record: record, gates: []) }
            // The saved folder has a gates file for every succeeded job (empty for methods without gates).
            let gatesPath = (directory as NSString).appendingPathComponent("jobs/\(job.folderName)/gates.csv")
            guard FileManager.default.fileExists(atPath: gatesPath) else {
                throw TrainingError.missingData(path: gatesPath)
            }
            return RunFolder(record: record, gates: try RunFolder.bestGates(path: gatesPath, step: bestStep))
        }
    }
}
