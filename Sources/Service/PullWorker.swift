import Foundation
import JobStore
import Text
import Training

/// A training worker on any machine that reaches the service over HTTP (`unipelt worker`): it claims a job
/// under a lease, resumes it from the `last` checkpoint the service holds, trains it with the same
/// `JobExecution` as the in-process workers and reports through a `RemoteReporter`. The service stays the
/// only writer of the job store; this side keeps only a scratch folder per running job.
public final class PullWorker: @unchecked Sendable {
    public struct Options: Sendable {
        public var server: URL
        public var token: String?
        public var threads: Int
        /// Run one job (or find none) and return: a Slurm array task is one worker for one job.
        public var once: Bool
        /// Named model folders; a model missing here is fetched from the service into `workDirectory/models`.
        public var modelDirectory: String
        public var glueDirectory: String
        /// Scratch checkpoints of the running job and the fetched models.
        public var workDirectory: String
        /// Who runs the job, shown in its `claimed` event (host, process, Slurm job).
        public var owner: String
        /// The Slurm job this worker runs as, if any (`12_3`); the service records it on the jobs it claims.
        public var slurmJob: String?
        public var pollSeconds: Double = 2
        /// Jobs in a row this worker may fail to prepare (fetch the checkpoint or the model, make its scratch
        /// folder) before it stops: a broken machine would otherwise lease the whole queue, one attempt per job
        /// per lease, while healthy workers wait.
        public var maxPreparationFailures = 3

        public init(server: URL, token: String?, threads: Int, once: Bool, modelDirectory: String, glueDirectory: String,
                    workDirectory: String, owner: String) {
            self.server = server
            self.token = token
            self.threads = threads
            self.once = once
            self.modelDirectory = modelDirectory
            self.glueDirectory = glueDirectory
            self.workDirectory = workDirectory
            self.owner = owner
        }
    }

    private let options: Options
    private let client: ServiceClient
    private let log: ServiceLog
    private let metrics = PrometheusRegistry()
    private let condition = NSCondition()
    private var stopping = false
    private var running: TrainingControl?
    /// Model libraries by folder and default model name.
    private var libraries: [String: ModelLibrary] = [:]

    public init(options: Options, log: ServiceLog) {
        self.options = options
        self.log = log
        client = ServiceClient(base: options.server, token: options.token)
    }

    /// Claims and runs jobs until `stop()` (or after one claim with `once`). Returns the process exit status:
    /// 0; with `once`, 1 when the service stayed unreachable and 2 when the job could not be prepared; without,
    /// 2 after `maxPreparationFailures` jobs in a row that this machine could not prepare.
    public func run() -> Int32 {
        var failedClaims = 0
        var failedPreparations = 0
        // A claim whose reply did not arrive may have leased a job: it is sent again under the same id.
        var unansweredClaim: String?
        while !isStopping {
            let assignment: WorkerWire.Assignment?
            do {
                let claimID = unansweredClaim ?? UUID().uuidString
                unansweredClaim = claimID
                let request = WorkerWire.ClaimRequest(owner: options.owner, slurmJob: options.slurmJob, claimId: claimID)
                let body = try client.send("POST", "v1/workers/claim", json: Data(try WorkerWire.encode(request)))
                assignment = try WorkerWire.decode(WorkerWire.ClaimReply.self, from: Array(body)).assignment
                unansweredClaim = nil
                failedClaims = 0
            } catch {
                log.error("claim failed: \(error)")
                failedClaims += 1
                if options.once && failedClaims >= 3 { return 1 }
                pause()
                continue
            }
            guard let assignment else {
                if options.once { return 0 }
                failedPreparations = 0  // in a row means one job after another, not days apart
                pause()
                continue
            }
            if let failure = execute(assignment) {
                if options.once { return 2 }
                // Only faults of this machine count towards stopping it: a refusal or a bad file from the service
                // would stop every worker of the fleet alike.
                if failure.isLocal { failedPreparations += 1 }
                if failedPreparations >= options.maxPreparationFailures {
                    log.error("stopping: this worker could not prepare \(failedPreparations) jobs in a row (the last: "
                              + "\(failure)); their leases expire and other workers take them")
                    return 2
                }
                // Back off, so a fault that passes (a full disk freed, the service back) costs few attempts.
                pause(seconds: options.pollSeconds * Double(1 << max(failedPreparations - 1, 0)))
            } else {
                failedPreparations = 0
            }
            if options.once { return 0 }
        }
        return 0
    }

    /// SIGTERM (shutdown, Slurm preemption or time limit): the running job writes its `last` checkpoint, hands
    /// it to the service and goes back to the queue; nothing new is claimed.
    public func stop() {
        condition.lock()
        stopping = true
        let control = running
        condition.broadcast()
        condition.unlock()
        control?.requestStop(.suspend)
    }

    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    private func pause(seconds: Double? = nil) {
        condition.lock()
        if !stopping { _ = condition.wait(until: Date().addingTimeInterval(seconds ?? options.pollSeconds)) }
        condition.unlock()
    }

    /// Runs one claimed job; returns why it could not be prepared, if it could not.
    private func execute(_ assignment: WorkerWire.Assignment) -> PreparationError? {
        let lease = Lease(jobID: assignment.jobId, token: assignment.leaseToken, attempt: assignment.attempt)
        let reporter = RemoteReporter(lease: lease, client: client)
        let scratch = "\(options.workDirectory)/jobs/\(assignment.jobId)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let control = TrainingControl()
        condition.lock()
        running = control
        if stopping { control.requestStop(.suspend) }
        condition.unlock()
        defer {
            condition.lock()
            running = nil
            condition.unlock()
        }
        // Run under the lease's heartbeat: a large checkpoint or model on a slow link can outlast a lease.
        var preparationFailure: PreparationError?
        let prepare = { [self] () throws -> ModelLibrary in
            do {
                return try fetchCheckpointAndModel(assignment, scratch: scratch)
            } catch let error as PreparationError {
                preparationFailure = error
                throw error
            }
        }
        let execution = JobExecution(
            job: JobExecution.Assignment(id: assignment.jobId, cellKey: assignment.cellKey, spec: assignment.spec,
                                         startsFresh: assignment.startsFresh),
            reporter: reporter, control: control, prepare: prepare,
            settings: JobExecution.Settings(threads: options.threads, glueDirectory: options.glueDirectory,
                                            heartbeatSeconds: assignment.heartbeatSeconds,
                                            checkpointEverySeconds: assignment.checkpointEverySeconds),
            checkpointDirectory: scratch, log: log, metrics: metrics)
        execution.suspendReason = "worker \(options.owner) stopping"
        execution.run()
        return preparationFailure
    }

    /// A fresh scratch folder with the checkpoint the job resumes from, and the library holding its model.
    private func fetchCheckpointAndModel(_ assignment: WorkerWire.Assignment, scratch: String) throws -> ModelLibrary {
        // The service found the task's files on its machine; without them here the job could only fail.
        if let task = GLUETask(rawValue: try JobSpecCoding.trainingSpec(fromStored: assignment.spec).task) {
            let glue = Installation(glueDirectory: options.glueDirectory, modelDirectory: "", defaultModel: "")
            let missing = glue.missingFiles(of: task)
            guard missing.isEmpty else {
                throw PreparationError(what: "the GLUE data of \(task.rawValue)", reason: MissingFiles(paths: missing))
            }
        }
        do {
            try? FileManager.default.removeItem(atPath: scratch)
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        } catch {
            throw PreparationError(what: "its scratch folder \(scratch)", reason: error)
        }
        if let resume = assignment.resume {
            do {
                try client.download("v1/jobs/\(assignment.jobId)/checkpoints/\(resume.id)/content",
                                    to: "\(scratch)/last.safetensors", sha256: resume.sha256)
            } catch {
                throw PreparationError(what: "the checkpoint to resume from", reason: error)
            }
        }
        do { return try library(for: assignment) } catch {
            throw PreparationError(what: "the model", reason: error)
        }
    }

    /// The library holding the job's model: the worker's model folder when the model is there, else the cache
    /// of models fetched from the service (fetched now when it is not there either). One library per folder
    /// and default name, so a model is loaded once for every job that names it.
    private func library(for assignment: WorkerWire.Assignment) throws -> ModelLibrary {
        let requested = try JobSpecCoding.trainingSpec(fromStored: assignment.spec).model
        let name = requested == "default" ? assignment.defaultModel : requested
        var directory = options.modelDirectory
        if !FileManager.default.fileExists(atPath: "\(directory)/\(name)/config.json") {
            directory = "\(options.workDirectory)/models"
            if !FileManager.default.fileExists(atPath: "\(directory)/\(name)/config.json") {
                try fetchModel(name, into: directory)
            }
        }
        let key = "\(directory)\u{0}\(assignment.defaultModel)"
        if let library = libraries[key] { return library }
        let library = ModelLibrary(directory: directory, defaultName: assignment.defaultModel)
        libraries[key] = library
        return library
    }

    /// Downloads every file of the model, each checked against its SHA-256, into a folder of this fetch's own
    /// that gets the model's name only once whole. Workers sharing a `--work-dir` may fetch the same model at
    /// once: the first to finish installs it, and the others use it.
    private func fetchModel(_ name: String, into directory: String) throws {
        let listing = try WorkerWire.decode(WorkerWire.ModelFiles.self,
                                            from: Array(try client.send("GET", "v1/models/\(name)/files")))
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        removeAbandonedFetches(of: name, in: directory)
        let fetch = "\(directory)/.\(name).\(UUID().uuidString.lowercased())"
        // Held for the whole fetch, and taken before its folder exists: a fetch folder whose lock anyone can take
        // was left by a worker that died mid-fetch.
        let lock = try FileLock(path: fetch + ".lock")
        let partial = fetch + ".part"
        defer {
            try? FileManager.default.removeItem(atPath: partial)
            try? FileManager.default.removeItem(atPath: fetch + ".lock")
            withExtendedLifetime(lock) {}
        }
        try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: true)
        for file in listing.files {
            log.info("fetching model \(name): \(file.name) (\(file.bytes) bytes)")
            try client.download("v1/models/\(name)/files/\(file.name)", to: "\(partial)/\(file.name)", sha256: file.sha256)
        }
        let installed = "\(directory)/\(name)"
        do { try FileManager.default.moveItem(atPath: partial, toPath: installed) } catch {
            guard FileManager.default.fileExists(atPath: "\(installed)/config.json") else { throw error }
        }
    }

    /// Removes the fetches of `name` whose lock nobody holds: their worker died mid-fetch (a Slurm time limit).
    private func removeAbandonedFetches(of name: String, in directory: String) {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let fetches = Set(entries.compactMap { entry -> String? in
            guard entry.hasPrefix(".\(name).") else { return nil }
            let base = entry.hasSuffix(".part") ? entry.dropLast(5) : entry.hasSuffix(".lock") ? entry.dropLast(5) : nil
            return base.flatMap { $0.count == name.count + 2 + 36 ? String($0) : nil }
        })
        for fetch in fetches.sorted().map({ "\(directory)/\($0)" }) {
            guard let lock = try? FileLock(path: fetch + ".lock") else { continue }  // a live fetch holds it
            try? FileManager.default.removeItem(atPath: fetch + ".part")
            try? FileManager.default.removeItem(atPath: fetch + ".lock")
            withExtendedLifetime(lock) {}
        }
    }

    /// Files a job needs that this machine does not have.
    struct MissingFiles: Error, CustomStringConvertible {
        let paths: [String]

        var description: String { "missing \(paths.joined(separator: ", ")) (see --glue-dir)" }
    }

    /// What a worker could not fetch or make before training. It is no fault of the job's, so no failure is
    /// recorded against it: the lease expires, and the job is tried again (one attempt spent) here or elsewhere.
    struct PreparationError: Error, CustomStringConvertible {
        let what: String
        let reason: Error

        var description: String { "the worker could not prepare \(what): \(reason)" }

        /// A fault of this machine (its disk, its folders, a model file it cannot load), not of the service.
        var isLocal: Bool { !(reason is ServiceClient.ClientError) }
    }
}
