import Foundation
import JobStore

/// Runs the queue on a Slurm cluster (`executor = slurm`): every few seconds it compares the unfinished jobs
/// of each sweep with the sweep's array tasks in `squeue`, submits a job array of `unipelt worker --once`
/// tasks for the jobs nobody will claim (`--array=0-N%max_concurrency`), and cancels the pending tasks of a
/// sweep with nothing left to claim (paused, cancelled or done). The tasks pull their jobs over HTTP like any
/// worker; a task that dies without a word is rescued by its lease, and a preempted or timed-out task
/// (SIGTERM) checkpoints and hands its job back, so the next pass submits a task for it again.
final class SlurmExecutor: @unchecked Sendable {
    private let config: Config
    private let store: JobStore
    private let log: ServiceLog
    private let token: String?
    private let serverURL: @Sendable () -> String
    private let clock: @Sendable () -> Int
    private var timer: DispatchSourceTimer?

    init(config: Config, store: JobStore, log: ServiceLog, token: String?, serverURL: @escaping @Sendable () -> String,
         clock: @escaping @Sendable () -> Int) {
        self.config = config
        self.store = store
        self.log = log
        self.token = token
        self.serverURL = serverURL
        self.clock = clock
    }

    func start() {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "unipelt.slurm"))
        let interval = Double(config.slurmReconcileSeconds)
        timer.schedule(deadline: .now() + 1, repeating: interval)
        timer.setEventHandler { [weak self] in
            guard let self else { return }
            do { try self.reconcile() } catch { self.log.error("slurm: \(error)") }
        }
        self.timer = timer
        timer.resume()
    }

    func stop() {
        timer?.cancel()
        timer = nil
    }

    /// One pass: read both views, then submit and cancel what the plan says.
    func reconcile() throws {
        let tasks = SlurmPlan.parseQueue(try run("squeue", ["--noheader", "--array", "--format=%i|%j|%T"]))
        let demand = try store.read { try $0.queueDemand() }
        for action in SlurmPlan.actions(demand: demand, tasks: tasks) {
            switch action {
            case let .submit(sweepID, count, concurrency):
                try submit(sweepID: sweepID, count: count, concurrency: concurrency)
            case let .cancelPending(name):
                _ = try run("scancel", ["--state=PENDING", "--name=\(name)"])
                log.info("slurm: cancelled the pending tasks of \(name): nothing left to claim")
            }
        }
    }

    private func submit(sweepID: String?, count: Int, concurrency: Int?) throws {
        let logs = "\(config.dataDirectory)/slurm-logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let name = SlurmPlan.jobName(sweepID: sweepID)
        let array = "0-\(count - 1)" + (concurrency.map { "%\($0)" } ?? "")
        var arguments = ["--parsable", "--job-name=\(name)", "--array=\(array)",
                         "--cpus-per-task=\(config.slurmCPUsPerTask)",
                         "--output=\(URL(fileURLWithPath: logs).standardizedFileURL.path)/%x-%A_%a.log"]
        if !config.slurmPartition.isEmpty { arguments.append("--partition=\(config.slurmPartition)") }
        if !config.slurmTimeLimit.isEmpty { arguments.append("--time=\(config.slurmTimeLimit)") }
        if !config.slurmMemory.isEmpty { arguments.append("--mem=\(config.slurmMemory)") }
        // Last, so they override the ones above.
        arguments += config.slurmExtraArguments.split(separator: " ").map(String.init)
        // `exec`: the worker itself gets Slurm's SIGTERM (cancel, preemption, time limit) and hands its job back.
        arguments += ["--wrap", "exec \(config.slurmWorkerCommand) --server \(serverURL()) --threads \(config.slurmCPUsPerTask) --once"]
        let output = try run("sbatch", arguments, environment: token.map { ["UNIPELT_API_TOKEN": $0] } ?? [:])
        let arrayID = output.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? output
        log.info("slurm: submitted array job \(arrayID) (\(name), \(array))")
        try store.write { writer in
            for id in try writer.queuedJobIDs(sweepID: sweepID) {
                try writer.appendEvent(NewEvent(jobID: id, type: "slurm_submitted",
                                                message: "Slurm array job \(arrayID) submitted: \(count) worker tasks",
                                                data: JSONValue.object([("slurm_array_job_id", .string(arrayID))]).serialized()),
                                       now: clock())
            }
        }
    }

    enum CommandError: Error, CustomStringConvertible {
        case failed(command: String, status: Int32, errors: String)

        var description: String {
            switch self {
            case let .failed(command, status, errors): return "\(command) exited with \(status): \(errors)"
            }
        }
    }

    /// Runs a Slurm command found on PATH and returns its standard output.
    private func run(_ command: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandError.failed(command: command, status: process.terminationStatus, errors: errorText)
        }
        return text
    }
}

/// The Slurm executor's decisions, as a pure function of the job store's and Slurm's views.
enum SlurmPlan {
    /// One array task as `squeue --array` lists it.
    struct Task: Equatable {
        let id: String
        let name: String
        let state: String
    }

    enum Action: Equatable {
        case submit(sweepID: String?, count: Int, concurrency: Int?)
        case cancelPending(name: String)
    }

    /// The Slurm job name of a sweep's worker tasks; jobs created alone share one.
    static func jobName(sweepID: String?) -> String { "unipelt-" + (sweepID ?? "jobs") }

    /// States of a task that is done or leaving: it will claim nothing more.
    static let finishedStates: Set<String> = ["COMPLETING", "COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "PREEMPTED",
                                              "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"]

    /// Lines of `%i|%j|%T`; lines of other jobs are dropped.
    static func parseQueue(_ text: String) -> [Task] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard fields.count == 3, fields[1].hasPrefix("unipelt-") else { return nil }
            return Task(id: fields[0], name: fields[1], state: fields[2])
        }
    }

    /// A sweep needs a task per job that is queued or running; every live task (pending or running) is one
    /// of them. The rest are submitted as one array (a running job without its task, e.g. on a worker
    /// started by hand, asks for none). A sweep with nothing to claim loses its pending tasks.
    static func actions(demand: [QueueDemand], tasks: [Task], maxArraySize: Int = 1_000) -> [Action] {
        var live: [String: Int] = [:]
        var pending: Set<String> = []
        for task in tasks where !finishedStates.contains(task.state) {
            live[task.name, default: 0] += 1
            if task.state == "PENDING" { pending.insert(task.name) }
        }
        var actions: [Action] = []
        var claimable: Set<String> = []
        for sweep in demand where sweep.isActive && sweep.queued > 0 {
            let name = jobName(sweepID: sweep.sweepID)
            claimable.insert(name)
            let missing = min(sweep.queued, sweep.queued + sweep.running - live[name, default: 0], maxArraySize)
            if missing > 0 {
                actions.append(.submit(sweepID: sweep.sweepID, count: missing, concurrency: sweep.maxConcurrency))
            }
        }
        for name in pending.sorted() where !claimable.contains(name) {
            actions.append(.cancelPending(name: name))
        }
        return actions
    }
}
