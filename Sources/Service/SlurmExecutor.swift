import Foundation
import Glibc
import JobStore

/// Runs the queue on a Slurm cluster (`executor = slurm`): every few seconds it compares the unfinished jobs
/// of each sweep with the sweep's array tasks in `squeue`, submits a job array of `unipelt worker --once`
/// tasks for the jobs nobody will claim (`--array=0-N%max_concurrency`), and cancels the pending tasks of a
/// sweep with nothing left to claim (paused, cancelled or done). The tasks pull their jobs over HTTP like any
/// worker; a task that dies without a word is rescued by its lease, and a preempted or timed-out task
/// (SIGTERM) checkpoints and hands its job back, so the next pass submits a task for it again. A task that
/// ran a job and left `squeue` gets a `slurm_task_ended` event on that job with its final state (from `sacct`,
/// or `scontrol` where the cluster keeps no accounting); the job itself is left to its lease and its worker.
final class SlurmExecutor: @unchecked Sendable {
    private let config: Config
    private let store: JobStore
    private let log: ServiceLog
    private let token: String?
    private let serverURL: @Sendable () -> String
    private let clock: @Sendable () -> Int
    private var timer: DispatchSourceTimer?
    /// False once `sacct` said the cluster keeps no accounting: `scontrol` alone is asked from then on.
    private var accountingAvailable = true
    /// Whose tasks `squeue` lists and `scancel` may touch: this service's, as Slurm submitted them (another user's
    /// tasks of the same name are none of its business).
    private static let userName = getpwuid(geteuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } }
        ?? String(geteuid())

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

    /// One pass: read both views, record the ends of tasks that left the queue, then submit and cancel what
    /// the plan says.
    func reconcile() throws {
        let tasks = try SlurmPlan.parseQueue(try run("squeue", ["--user=\(Self.userName)", "--noheader", "--array",
                                                                "--format=%i|%j|%T"]))
        for task in tasks where task.state == nil {
            log.warning("slurm: task \(task.id) is in a state this version does not know; it counts as live")
        }
        do { try recordEnds(queue: tasks) } catch { log.error("slurm: reading task ends: \(error)") }
        let demand = try store.read { try $0.queueDemand() }
        for action in SlurmPlan.actions(demand: demand, tasks: tasks) {
            switch action {
            case let .submit(sweepID, count, concurrency):
                try submit(sweepID: sweepID, count: count, concurrency: concurrency)
            case let .cancelPending(name):
                _ = try run("scancel", ["--user=\(Self.userName)", "--state=PENDING", "--name=\(name)"])
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

    /// Reads the tasks that claimed a job and have no recorded end (after `squeue`, so a task that claimed
    /// since is still in that listing), asks Slurm how those that left the queue ended, and records each end
    /// that Slurm answered: a final state, or that it no longer holds the task. A task Slurm could not be
    /// asked about this pass is asked again on the next.
    private func recordEnds(queue: [SlurmPlan.Task]) throws {
        let running = try SlurmEvents.tasksWithoutEnd(in: store)
        let gone = Set(running.map(\.slurmJob)).subtracting(queue.filter(\.isLive).map(\.id))
        guard !gone.isEmpty else { return }
        let ends = finalStates(of: gone.sorted())
        for task in running where gone.contains(task.slurmJob) {
            let end: SlurmJobEnd?
            switch ends[task.slurmJob] {
            case .ended(let final)? where final.state.isFinal: end = final
            case .forgotten?: end = nil
            case .ended?, nil: continue
            }
            // One job at a time: a job deleted since its task ran must not hold up the others.
            do { _ = try store.write { try $0.appendEvent(SlurmEvents.ended(task, end), now: clock()) } } catch {
                log.warning("slurm: the end of Slurm job \(task.slurmJob) not recorded on \(task.jobID): \(error)")
            }
        }
    }

    /// What Slurm says of a task that left the queue.
    enum TaskEnd: Equatable {
        case ended(SlurmJobEnd)
        /// Neither accounting nor the controller holds it any more (it ended longer than `MinJobAge` ago).
        case forgotten
    }

    /// What Slurm says of each of `ids`: a final state from `sacct` where there is accounting, else from `scontrol`
    /// (accounting lags behind the controller, and may hold a state that is not final for a task long gone), one
    /// call per array job, which lists all its tasks. A task that could not be asked about (a command or its
    /// line of output failed) is missing.
    func finalStates(of ids: [String]) -> [String: TaskEnd] {
        var ends: [String: TaskEnd] = [:]
        if accountingAvailable {
            do {
                let answer = SlurmAccounting.parseSacct(try run("sacct", SlurmAccounting.sacctArguments(ids: ids)))
                for end in answer.ends where end.state.isFinal { ends[end.id] = .ended(end) }
                for error in answer.unreadable { log.warning("slurm: sacct: \(error)") }
            } catch CommandError.failed(_, _, let errors) where errors.contains("accounting storage is disabled") {
                accountingAvailable = false
                log.info("slurm: the cluster keeps no accounting (no slurmdbd); task ends are read with scontrol")
            } catch {
                log.warning("slurm: sacct: \(error)")
            }
        }
        let unknown = Dictionary(grouping: ids.filter { ends[$0] == nil }) { $0.split(separator: "_")[0] }
        for (job, tasks) in unknown.sorted(by: { $0.key < $1.key }) {
            do {
                let text = try run("scontrol", SlurmAccounting.scontrolArguments(id: String(job)))
                for id in tasks {
                    do { ends[id] = try SlurmAccounting.parseScontrol(text, id: id).map(TaskEnd.ended) ?? .forgotten } catch {
                        log.warning("slurm: scontrol show job \(job), task \(id): \(error)")
                    }
                }
            } catch CommandError.failed(_, _, let errors) where errors.contains(SlurmAccounting.scontrolUnknownJob) {
                for id in tasks { ends[id] = .forgotten }
            } catch {
                log.warning("slurm: scontrol show job \(job): \(error)")
            }
        }
        return ends
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
        /// nil for a state this code does not know (a newer Slurm's).
        let state: SlurmJobState?

        /// Whether the task may still claim or hold a job. A task in an unknown state counts as live, so
        /// nothing is submitted in its place and no end is recorded for it while `squeue` lists it.
        var isLive: Bool { state?.isLive ?? true }
    }

    enum Action: Equatable {
        case submit(sweepID: String?, count: Int, concurrency: Int?)
        case cancelPending(name: String)
    }

    /// The Slurm job name of a sweep's worker tasks; jobs created alone share one.
    static func jobName(sweepID: String?) -> String { "unipelt-" + (sweepID ?? "jobs") }

    /// Lines of `%i|%j|%T`; lines of other jobs are left out. A job name may itself contain `|`, so the id
    /// is the first field, the state the last, and the name what lies between.
    static func parseQueue(_ text: String) throws(SlurmOutputError) -> [Task] {
        var tasks: [Task] = []
        for line in text.split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard fields.count >= 3 else { throw .malformedLine(String(line)) }
            let name = fields.dropFirst().dropLast().joined(separator: "|")
            guard name.hasPrefix("unipelt-") else { continue }
            tasks.append(Task(id: fields[0], name: name, state: try? SlurmJobState(slurmText: fields[fields.count - 1])))
        }
        return tasks
    }

    /// A sweep needs a task per job that is queued or running; every live task (pending or running) is one
    /// of them. The rest are submitted as one array (a running job without its task, e.g. on a worker
    /// started by hand, asks for none). A sweep with nothing to claim loses its pending tasks.
    static func actions(demand: [QueueDemand], tasks: [Task], maxArraySize: Int = 1_000) -> [Action] {
        var live: [String: Int] = [:]
        var pending: Set<String> = []
        for task in tasks where task.isLive {
            live[task.name, default: 0] += 1
            if task.state == .pending { pending.insert(task.name) }
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

/// The events that tie a job to the Slurm jobs it ran in, so a finished or requeued job still names them:
/// `slurm_task` when an array task claims it (written by the claim endpoint), `slurm_task_ended` with the
/// task's final state once it left the queue.
enum SlurmEvents {
    static let claimedType = "slurm_task"
    static let endedType = "slurm_task_ended"

    /// One attempt of a job in one Slurm job.
    struct Task: Equatable {
        let jobID: String
        let attempt: Int
        let slurmJob: String
    }

    private struct Data: Codable {
        var slurmJobId: String
        var attempt: Int
        var state: String?
        var exitStatus: Int?
        var signal: Int?
    }

    /// `12` or `12_3`; anything else is not a Slurm job id.
    static func isJobID(_ text: String) -> Bool {
        let parts = text.split(separator: "_", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.count <= 12 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }

    static func claimed(_ task: Task) throws -> NewEvent {
        NewEvent(jobID: task.jobID, type: claimedType, message: "attempt \(task.attempt) runs in Slurm job \(task.slurmJob)",
                 data: String(decoding: try WorkerWire.encode(Data(slurmJobId: task.slurmJob, attempt: task.attempt)), as: UTF8.self))
    }

    static func ended(_ task: Task, _ end: SlurmJobEnd?) throws -> NewEvent {
        let message = end.map { "Slurm job \(task.slurmJob) of attempt \(task.attempt) ended \($0.state.rawValue) (\($0.exitDescription))" }
            ?? "Slurm job \(task.slurmJob) of attempt \(task.attempt) ended; Slurm no longer holds its final state"
        let data = Data(slurmJobId: task.slurmJob, attempt: task.attempt, state: end?.state.rawValue, exitStatus: end?.exitStatus,
                        signal: end?.signal)
        return NewEvent(jobID: task.jobID, level: end?.state == .completed ? .info : .warning, type: endedType, message: message,
                        data: String(decoding: try WorkerWire.encode(data), as: UTF8.self))
    }

    /// The tasks that claimed a job and have no `slurm_task_ended` for the same Slurm job and attempt.
    static func tasksWithoutEnd(in store: JobStore) throws -> [Task] {
        try store.read {
            try $0.unansweredEvents(ofType: claimedType, answeredBy: endedType, matching: ["$.slurm_job_id", "$.attempt"])
        }.compactMap(task(of:))
    }

    /// The Slurm jobs each of `jobs` ran in, in claim order (jobs that never ran in Slurm are absent).
    static func slurmJobs(of jobs: [Job], in reader: StoreReader) throws -> [String: [String]] {
        var ids: [String: [String]] = [:]
        for event in try reader.events(ofType: claimedType, jobIDs: jobs.map(\.id)) {
            if let task = task(of: event) { ids[task.jobID, default: []].append(task.slurmJob) }
        }
        return ids
    }

    /// The task an event of either type names; nil for an event without readable data.
    static func task(of event: JobEvent) -> Task? {
        guard let text = event.data, let data = try? WorkerWire.decode(Data.self, from: Array(text.utf8)) else { return nil }
        return Task(jobID: event.jobID, attempt: data.attempt, slurmJob: data.slurmJobId)
    }
}
