import Foundation
import HTTP
import JobStore
import Tensor
import Text
import Training

/// The running service: job store, model library, worker pool, lease rescuer and HTTP API, started in
/// that order and stopped in reverse. `main` and the end-to-end tests both build it from a `Config`.
public final class App: @unchecked Sendable {
    public let config: Config
    public let store: JobStore
    public let models: ModelLibrary
    public let workers: JobWorkers
    public let metrics = PrometheusRegistry()
    public let log: ServiceLog
    private let rescuer: LeaseRescuer
    private let server: Server
    private let notifier: SystemdNotifier
    private let checkpointFolders: CheckpointFolders
    private var watchdog: DispatchSourceTimer?
    private var slurm: SlurmExecutor?
    private let dataDirectoryLock: DataDirectoryLock

    public enum StartError: Error, CustomStringConvertible {
        case tokenRequired(address: String)
        case cannotCreateDataDirectory(path: String, reason: String)
        case dataDirectoryInUse(path: String, holder: Int32?)
        case cannotLockDataDirectory(path: String, reason: String)

        public var description: String {
            switch self {
            case let .tokenRequired(address):
                return "listen_address \(address) is reachable from other machines: set api_token or api_token_file"
            case let .cannotCreateDataDirectory(path, reason):
                return "cannot create the data directory \(path): \(reason)"
            case let .dataDirectoryInUse(path, holder):
                return "another unipelt service\(holder.map { " (pid \($0))" } ?? "") is using the data directory \(path); "
                    + "stop it first (systemctl stop unipelt), or give this one another data_dir"
            case let .cannotLockDataDirectory(path, reason):
                return "cannot lock \(path) (one service per data directory): \(reason)"
            }
        }
    }

    public static let clock: @Sendable () -> Int = { Int(Date().timeIntervalSince1970) }

    public init(config: Config, environment: [String: String]) throws {
        self.config = config
        log = ServiceLog(minimumLevel: config.logLevel)
        notifier = SystemdNotifier(environment: environment)
        let token = try config.resolvedAPIToken()
        if !config.listensOnLoopbackOnly && token == nil { throw StartError.tokenRequired(address: config.listenAddress) }

        let checkpointRoot = config.dataDirectory + "/checkpoints"
        checkpointFolders = CheckpointFolders(root: checkpointRoot)
        do {
            try FileManager.default.createDirectory(atPath: checkpointRoot, withIntermediateDirectories: true)
        } catch {
            throw StartError.cannotCreateDataDirectory(path: config.dataDirectory, reason: error.localizedDescription)
        }
        dataDirectoryLock = try DataDirectoryLock(directory: config.dataDirectory)
        store = try JobStore(path: config.dataDirectory + "/unipelt.sqlite3",
                             configuration: JobStore.Configuration(connection: ConnectionSettings(
                                 synchronous: config.sqliteSynchronous == .full ? .full : .normal)),
                             now: Self.clock())
        models = ModelLibrary(directory: config.resolvedModelDirectory, defaultName: config.defaultModel)
        let concurrency = config.resolvedConcurrency()
        // Under another executor the jobs are trained elsewhere: this process only serves and schedules.
        let workerSettings = JobWorkers.Settings(workers: config.executor == .local ? concurrency.workers : 0,
                                                 threadsPerWorker: concurrency.threadsPerWorker,
                                                 leaseSeconds: config.leaseSeconds,
                                                 heartbeatSeconds: config.heartbeatSeconds,
                                                 glueDirectory: config.resolvedGLUEDirectory,
                                                 checkpointRoot: checkpointRoot,
                                                 keepLastCheckpoint: config.keepLastCheckpoint,
                                                 checkpointEverySeconds: config.checkpointEverySeconds)
        workers = JobWorkers(store: store, models: models, settings: workerSettings, log: log, metrics: metrics,
                             clock: Self.clock)
        let log = self.log
        rescuer = LeaseRescuer(store: store, clock: Self.clock,
                               onReport: { report in
                                   log.warning("rescued expired leases: requeued \(report.requeued), failed \(report.failed), cancelled \(report.cancelled)")
                               },
                               onError: { error in log.error("lease rescue failed: \(error)") })

        var router = Router()
        let workers = self.workers, models = self.models
        var context = APIContext(
            store: store, vocabulary: Self.vocabulary(config: config, models: models), now: Self.clock,
            checkpointRoot: checkpointRoot, metrics: metrics, apiToken: token,
            readiness: { ["workers": workers.isRunning] }, codeVersion: Self.codeVersion,
            inference: Inference(models: models, exportDirectory: config.exportDirectory))
        context.installation = Installation(config: config)
        context.workerEndpoints.leaseSeconds = config.leaseSeconds
        context.workerEndpoints.heartbeatSeconds = config.heartbeatSeconds
        context.workerEndpoints.checkpointEverySeconds = config.checkpointEverySeconds
        context.workerEndpoints.keepLastCheckpoint = config.keepLastCheckpoint
        context.workerEndpoints.defaultModel = config.defaultModel
        registerAPIRoutes(on: &router, context: context)
        var serverConfiguration = Server.Configuration()
        serverConfiguration.host = config.listenAddress
        serverConfiguration.port = config.listenPort
        serverConfiguration.limits.maxBodyBytes = config.maxBodyBytes
        serverConfiguration.limits.headerTimeout = TimeInterval(config.headerTimeoutSeconds)
        serverConfiguration.limits.bodyTimeout = TimeInterval(config.bodyTimeoutSeconds)
        serverConfiguration.limits.idleTimeout = TimeInterval(config.idleTimeoutSeconds)
        serverConfiguration.limits.writeTimeout = TimeInterval(config.writeTimeoutSeconds)
        serverConfiguration.limits.maxConnections = config.maxConnections
        serverConfiguration.log = RequestMetricsLog(wrapping: StandardErrorLog(), metrics: metrics)
        server = Server(configuration: serverConfiguration, router: router)
        if config.executor == .slurm {
            let server = self.server
            slurm = SlurmExecutor(config: config, store: store, log: log, token: token,
                                  serverURL: { config.workerServerURL(port: server.port) }, clock: Self.clock)
        }
    }

    /// The build's version, recorded on every job for reproducibility.
    public static let codeVersion = ProcessInfo.processInfo.environment["UNIPELT_BUILD_ID"] ?? "dev"

    /// What a sweep may name: GLUE tasks, tuning methods, installed models, the trainer's hyperparameters.
    /// Tasks and models whose files are missing are refused with how to install them.
    static func vocabulary(config: Config, models: ModelLibrary) -> SweepVocabulary {
        let installation = Installation(config: config)
        return SweepVocabulary(tasks: GLUETask.allNames, methods: HyperparameterTable.methods, models: models.names(),
                               defaultModel: config.defaultModel,
                               hyperparameters: HyperparameterTable.all.map { ($0.name, $0.kind) },
                               maxJobsPerSweep: config.maxJobsPerSweep, defaultMaxAttempts: config.maxAttempts,
                               missingTasks: installation.missingTasks(), missingModels: installation.missingModels(),
                               maximumK: { GLUETask(rawValue: $0).flatMap(installation.maximumK(of:)) })
    }

    /// The port the API listens on (useful with `listen_port = 0`).
    public var port: Int { server.port }

    /// Rescues what a previous process left running and clears what it left unfinished, then starts the API,
    /// workers and rescuer, and tells systemd it is ready. The port is opened before any worker claims: a start
    /// that fails there (the port taken) has claimed no job, so restarting it again and again spends no job's
    /// attempts.
    public func start() throws {
        let report = try store.write { try $0.rescueLeasesOfPreviousInstances(now: Self.clock()) }
        if !report.isEmpty {
            log.warning("jobs left running by a previous process: requeued \(report.requeued), failed \(report.failed), cancelled \(report.cancelled)")
        }
        // Exports live only while they stream; one still here was cut off by a crash of the previous process.
        try? FileManager.default.removeItem(atPath: config.exportDirectory)
        let orphans = try checkpointFolders.removeOrphans(store: store)
        if !orphans.isEmpty {
            log.warning("removed \(orphans.count) checkpoint folders of deleted jobs (a sweep deletion was interrupted)")
        }
        if !models.names().contains(config.defaultModel) {
            log.warning("default model \(config.defaultModel) is not installed in \(config.resolvedModelDirectory); run deploy/setup.sh")
        }
        registerGauges()
        try server.start()
        workers.start()
        rescuer.start(intervalSeconds: Double(config.leaseSeconds) / 2)
        slurm?.start()
        let concurrency = config.resolvedConcurrency()
        let local = config.executor == .local ? concurrency.workers : 0
        let status = "listening on \(config.listenAddress):\(server.port), executor \(config.executor.rawValue), \(local) workers × \(concurrency.threadsPerWorker) threads, OpenBLAS \(BLAS.coreName) kernels"
        log.info(status)
        notifier.ready(status: status)
        startWatchdog()
    }

    /// SIGTERM: stop claiming, checkpoint and re-queue running jobs, finish requests, stop.
    public func shutdown() {
        log.info("stopping: checkpointing \(workers.runningJobCount) running jobs")
        notifier.stopping()
        notifier.extendTimeout(seconds: Double(config.shutdownTimeoutSeconds) + 10)
        workers.beginShutdown()
        if !workers.waitUntilStopped(timeout: TimeInterval(config.shutdownTimeoutSeconds)) {
            log.warning("running jobs did not stop within \(config.shutdownTimeoutSeconds) s; their leases will expire and the jobs resume on the next start")
        }
        rescuer.stop()
        slurm?.stop()
        watchdog?.cancel()
        server.shutdown(gracePeriod: 5)
        log.info("stopped")
    }

    private func registerGauges() {
        let workers = self.workers
        metrics.registerGauge("unipelt_running_jobs", help: "Jobs training in this process.") {
            [(labels: [:], value: Double(workers.runningJobCount))]
        }
    }

    /// WATCHDOG=1 only while the service is alive: the worker pool runs and the HTTP poll loop turned
    /// recently. A wedged loop or a dead pool stops the pings, and systemd restarts the service.
    private func startWatchdog() {
        guard let interval = notifier.watchdogInterval else { return }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "unipelt.watchdog"))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        let workers = self.workers, server = self.server, notifier = self.notifier
        timer.setEventHandler {
            if WatchdogCheck.healthy(workersRunning: workers.isRunning, secondsSinceLoopTurn: server.secondsSinceLoopTurn,
                                     pingInterval: interval) {
                notifier.watchdog()
            }
        }
        watchdog = timer
        timer.resume()
    }
}

/// The liveness rule behind each systemd watchdog ping.
enum WatchdogCheck {
    /// The loop turns at least four times a second; one missed ping interval (at least a second) of silence
    /// means it is stuck.
    static func healthy(workersRunning: Bool, secondsSinceLoopTurn: Double?, pingInterval: Double) -> Bool {
        guard workersRunning, let quiet = secondsSinceLoopTurn else { return false }
        return quiet < max(1, pingInterval)
    }
}
