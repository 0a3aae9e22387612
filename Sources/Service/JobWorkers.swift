import Foundation
import JobStore
import Tensor
import Training

/// Runs queued jobs: `workers` threads, each claiming one job at a time from the store under a lease,
/// training it with the shared `Trainer`, and reporting every event back to the store. Leases are renewed
/// by a heartbeat timer (evaluations can outlast a lease); a cancelled job stops within one step; on
/// shutdown running jobs write their `last` checkpoint and go back to the queue.
public final class JobWorkers: @unchecked Sendable {
    public struct Settings: Sendable {
        public var workers: Int
        public var threadsPerWorker: Int
        public var leaseSeconds: Int
        public var heartbeatSeconds: Int
        public var glueDirectory: String
        /// Each job's checkpoints go to `<checkpointRoot>/<job id>/`.
        public var checkpointRoot: String
        /// How long an idle worker sleeps before looking for work again.
        public var pollSeconds: Double = 1
        /// Whether a succeeded job keeps its `last` checkpoint (row and file) beside `best`.
        public var keepLastCheckpoint = false
        /// A job's checkpoint interval unless it sets its own `checkpoint_every_seconds`.
        public var checkpointEverySeconds: Int
    }

    private let store: JobStore
    private let models: ModelLibrary
    private let settings: Settings
    private let log: ServiceLog
    private let metrics: PrometheusRegistry
    private let clock: @Sendable () -> Int

    private let condition = NSCondition()
    private var stopping = false
    private var liveWorkers = 0
    private var running: [String: TrainingControl] = [:]

    public init(store: JobStore, models: ModelLibrary, settings: Settings, log: ServiceLog,
                metrics: PrometheusRegistry, clock: @escaping @Sendable () -> Int) {
        self.store = store
        self.models = models
        self.settings = settings
        self.log = log
        self.metrics = metrics
        self.clock = clock
    }

    public func start() {
        condition.lock()
        liveWorkers = settings.workers
        condition.unlock()
        for index in 0..<settings.workers {
            let thread = Thread { [self] in workLoop(owner: "\(store.instanceID)/w\(index)") }
            thread.name = "unipelt-worker-\(index)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    public var isRunning: Bool {
        condition.lock()
        defer { condition.unlock() }
        return !stopping && liveWorkers == settings.workers
    }

    public var runningJobCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return running.count
    }

    /// Stops claiming and asks every running job to write its `last` checkpoint and stop.
    public func beginShutdown() {
        condition.lock()
        stopping = true
        let controls = Array(running.values)
        condition.broadcast()
        condition.unlock()
        for control in controls { control.requestStop(.suspend) }
    }

    /// Waits until every worker has returned; false if `timeout` passed first.
    public func waitUntilStopped(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while liveWorkers > 0 {
            if !condition.wait(until: deadline) { return liveWorkers == 0 }
        }
        return true
    }

    // MARK: Worker loop

    private func workLoop(owner: String) {
        defer {
            condition.lock()
            liveWorkers -= 1
            condition.broadcast()
            condition.unlock()
        }
        while true {
            condition.lock()
            let stop = stopping
            condition.unlock()
            if stop { return }
            let claimed: ClaimedJob?
            do {
                claimed = try store.write {
                    try $0.claim(limit: 1, owner: owner, leaseSeconds: settings.leaseSeconds, now: clock())
                }.first
            } catch {
                log.error("claim failed: \(error)")
                claimed = nil
            }
            guard let claimed else {
                condition.lock()
                if !stopping { _ = condition.wait(until: Date().addingTimeInterval(settings.pollSeconds)) }
                condition.unlock()
                continue
            }
            execute(claimed)
        }
    }

    private func execute(_ claimed: ClaimedJob) {
        let job = claimed.job
        let control = TrainingControl()
        condition.lock()
        running[job.id] = control
        let shuttingDown = stopping
        condition.unlock()
        if shuttingDown { control.requestStop(.suspend) }
        defer {
            condition.lock()
            running[job.id] = nil
            condition.unlock()
        }
        let files = CheckpointFolders(root: settings.checkpointRoot)
        let reporter = StoreReporter(lease: claimed.lease, store: store, files: files, leaseSeconds: settings.leaseSeconds,
                                     keepLastCheckpoint: settings.keepLastCheckpoint, clock: clock)
        let execution = JobExecution(job: JobExecution.Assignment(id: job.id, cellKey: job.cellKey, spec: job.spec,
                                                                              startsFresh: job.startsFresh),
                                     reporter: reporter, control: control, prepare: { [models] in models },
                                     settings: JobExecution.Settings(threads: settings.threadsPerWorker,
                                                                     glueDirectory: settings.glueDirectory,
                                                                     heartbeatSeconds: settings.heartbeatSeconds,
                                                                     checkpointEverySeconds: settings.checkpointEverySeconds),
                                     checkpointDirectory: files.directory(jobID: job.id), log: log, metrics: metrics)
        execution.run()
    }
}
