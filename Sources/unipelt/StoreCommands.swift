// `unipelt migrate` and `unipelt bench store`: the job store's commands.
import Foundation
import JobStore

/// Parses `--name value` pairs; nil (after printing why) on anything else.
private func parseOptions(_ arguments: [String], allowed: Set<String>) -> [String: String]? {
    var options: [String: String] = [:]
    var index = 0
    while index < arguments.count {
        let name = arguments[index]
        guard name.hasPrefix("--"), allowed.contains(String(name.dropFirst(2))), index + 1 < arguments.count else {
            FileHandle.standardError.write(Data("unipelt: unexpected argument '\(name)'\n".utf8))
            return nil
        }
        options[String(name.dropFirst(2))] = arguments[index + 1]
        index += 2
    }
    return options
}

private func reportFailure(_ error: Error) -> Int32 {
    FileHandle.standardError.write(Data("unipelt: \(error)\n".utf8))
    return 1
}

/// `unipelt migrate [--db PATH]`.
enum MigrateCommand: StatusCommand {
    static let name = "migrate"
    static let summary = "apply pending database migrations"
    static let usage = """
    usage: unipelt migrate [--db PATH]
      Applies pending database migrations (default --db var/unipelt.sqlite3).
    """

    static func exitStatus(_ arguments: [String]) -> Int32 {
        guard let options = parseOptions(arguments, allowed: ["db"]) else { return 2 }
        let path = options["db"] ?? "var/unipelt.sqlite3"
        do {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let outcome = try JobStore.migrate(path: path)
            if outcome.applied.isEmpty {
                print("\(path): schema version \(outcome.toVersion), up to date")
            } else {
                print("\(path): schema version \(outcome.fromVersion) → \(outcome.toVersion), applied \(outcome.applied.joined(separator: ", "))")
            }
            return 0
        } catch {
            return reportFailure(error)
        }
    }
}

/// `unipelt bench store`: enqueue time of a 10,000-job sweep, claims per second (one claim per
/// transaction, as a worker pool claims), and metric rows per second (one transaction per step, as
/// the trainer writes). Every figure includes the commit's fsync at the chosen `synchronous`.
enum StoreBenchCommand: StatusCommand {
    static let name = "bench store"
    static let summary = "time the job store: sweep enqueue, claims, metric inserts"
    static let usage = """
    usage: unipelt bench store [--synchronous full|normal]
      Times the job store: sweep enqueue, claims, metric inserts (use a release build).
    """

    static func exitStatus(_ arguments: [String]) -> Int32 {
        guard let options = parseOptions(arguments, allowed: ["synchronous"]) else { return 2 }
        let synchronous: SynchronousMode
        switch options["synchronous"] ?? "full" {
        case "full": synchronous = .full
        case "normal": synchronous = .normal
        default:
            FileHandle.standardError.write(Data("unipelt: --synchronous must be full or normal\n".utf8))
            return 2
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("unipelt-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let configuration = JobStore.Configuration(connection: ConnectionSettings(synchronous: synchronous))
            let now = Int(Date().timeIntervalSince1970)
            func openStore(_ name: String) throws -> JobStore {
                try JobStore(path: folder.appendingPathComponent(name).path, configuration: configuration, now: now)
            }
            let jobs = (0..<10_000).map { index in
                NewJob(cellKey: "sst2/K=16/seed=\(index)/unipelt-apl", task: "sst2", k: .examples(16), seed: index,
                       method: "unipelt-apl", spec: #"{"task":"sst2","k":16,"seed":\#(index),"method":"unipelt-apl"}"#)
            }
            print("job store benchmark (synchronous=\(options["synchronous"] ?? "full"), \(folder.path))")

            var enqueueSeconds: [Double] = []
            var store = try openStore("enqueue-0.sqlite3")
            for run in 0..<3 {
                store = try openStore("enqueue-\(run).sqlite3")
                enqueueSeconds.append(try seconds {
                    _ = try store.write { try $0.createSweep(NewSweep(name: "bench", spec: "{}"), jobs: jobs, now: now) }
                })
            }
            let enqueueFigures = enqueueSeconds.map { String(format: "%.3f", $0) }.joined(separator: " / ")
            print(String(format: "enqueue 10,000-job sweep:  median %.3f s  (runs: %@ s)",
                         enqueueSeconds.sorted()[1], enqueueFigures))

            let claims = 2_000
            var leases: [Lease] = []
            let claimSeconds = try seconds {
                for _ in 0..<claims {
                    leases += try store.write { try $0.claim(limit: 1, owner: "bench", leaseSeconds: 600, now: now) }.map(\.lease)
                }
            }
            print(String(format: "claim, 1 job per transaction, 10,000 queued:  %.0f claims/s  (%d claims in %.3f s)",
                         Double(claims) / claimSeconds, claims, claimSeconds))

            let steps = 1_000
            let metricsPerStep = 8
            let names = (0..<metricsPerStep).map { "metric_\($0)" }
            let lease = leases[0]
            let metricSeconds = try seconds {
                for step in 0..<steps {
                    try store.write {
                        try $0.recordMetrics(lease, step: step, epoch: Double(step) / 100, wallTime: Date().timeIntervalSince1970,
                                             values: names.map { NamedValue(name: $0, value: Double(step)) })
                    }
                }
            }
            print(String(format: "metric rows, %d per step, 1 transaction per step:  %.0f rows/s  (%.0f steps/s)",
                         metricsPerStep, Double(steps * metricsPerStep) / metricSeconds, Double(steps) / metricSeconds))
            return 0
        } catch {
            return reportFailure(error)
        }
    }

    private static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
