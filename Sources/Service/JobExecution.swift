import Foundation
import JobStore
import Training

/// One attempt at one job: loads model and data, trains (resuming from the job's `last` checkpoint
/// when an earlier attempt left one), and writes every event to the store under the job's lease.
/// Once the lease is lost (the rescuer gave the job to someone else) nothing more is written.
final class JobExecution: TrainingObserver {
    private let claimed: ClaimedJob
    private let control: TrainingControl
    private let store: JobStore
    private let models: ModelLibrary
    private let settings: WorkerPool.Settings
    private let log: ServiceLog
    private let metrics: PrometheusRegistry
    private let clock: @Sendable () -> Int

    private let lock = NSLock()
    private var leaseLost = false
    private var progress: JobProgress?
    private var bestMetric: NamedValue?
    private var lastStepTime: Date?
    /// When this attempt took its first step, and that step's number: the ETA extrapolates the
    /// attempt's whole wall time per step, evaluations included.
    private var firstStep: (time: Date, step: Int)?
    private var batchesPerEpoch = 1
    private var heartbeat: DispatchSourceTimer?

    private var lease: Lease { claimed.lease }
    private var jobID: String { claimed.job.id }
    private var checkpointDirectory: String { "\(settings.checkpointRoot)/\(jobID)" }

    init(claimed: ClaimedJob, control: TrainingControl, store: JobStore, models: ModelLibrary,
         settings: WorkerPool.Settings, log: ServiceLog, metrics: PrometheusRegistry, clock: @escaping @Sendable () -> Int) {
        self.claimed = claimed
        self.control = control
        self.store = store
        self.models = models
        self.settings = settings
        self.log = log
        self.metrics = metrics
        self.clock = clock
    }

    func run() {
        startHeartbeat()
        defer { heartbeat?.cancel() }
        log.info("attempt \(lease.attempt) started: \(claimed.job.cellKey)", job: jobID)
        do {
            let spec = try JobSpecCoding.trainingSpec(fromStored: claimed.job.spec)
            let model = try models.load(spec.model)
            if claimed.job.startsFresh {
                // Retried from scratch: the old checkpoints must not be resumed from.
                try? FileManager.default.removeItem(atPath: checkpointDirectory)
                try write { try $0.markStartedFresh(lease) }
            }
            try FileManager.default.createDirectory(atPath: checkpointDirectory, withIntermediateDirectories: true)
            let trainer = try Trainer(spec: spec, backbone: model.backbone, tokenizer: model.tokenizer,
                                      glueDirectory: settings.glueDirectory, checkpointDirectory: checkpointDirectory,
                                      control: control)
            trainer.model.threads = settings.threadsPerWorker
            trainer.defaultCheckpointEverySeconds = Double(settings.checkpointEverySeconds)
            batchesPerEpoch = max(1, trainer.batchesPerEpoch)
            trainer.observer = self
            let resumePath = "\(checkpointDirectory)/last.safetensors"
            let resuming = FileManager.default.fileExists(atPath: resumePath)
            report(NewEvent(jobID: jobID, type: "started",
                            message: resuming ? "attempt \(lease.attempt) resumes from its last checkpoint"
                                              : "attempt \(lease.attempt) starts"))
            let outcome = try trainer.run(resumingFrom: resuming ? resumePath : nil)
            switch outcome {
            case let .finished(result):
                let json = try Self.resultJSON(result)
                // Rows first, in the finishing transaction; files after it commits (a crash in between leaves
                // only an unlisted file, never a row without its file).
                let dropped = try write { writer -> String? in
                    let path = settings.keepLastCheckpoint ? nil : try writer.dropCheckpoint(lease, name: "last")
                    try writer.finish(lease, result: json, now: clock())
                    return path
                }
                if let dropped {
                    for path in [dropped, "\(checkpointDirectory)/last.safetensors"] {
                        try? FileManager.default.removeItem(atPath: path)
                    }
                }
                log.info("succeeded: \(result.metric) \(result.testMetric)", job: jobID)
            case let .stopped(.cancel, step):
                try write { try $0.confirmCancelled(lease, now: clock()) }
                log.info("cancelled at step \(step)", job: jobID)
            case let .stopped(.suspend, step):
                try write { try $0.requeue(lease, reason: "service stopping; resumes from step \(step)", now: clock()) }
                log.info("suspended at step \(step) and re-queued", job: jobID)
            }
        } catch {
            fail(error)
        }
    }

    /// Ends the attempt as failed with the error's code, unless the lease is gone.
    private func fail(_ error: Error) {
        let failure: JobFailure
        switch error {
        case let error as TrainingError where error.isDiskFull:
            failure = JobFailure(code: "disk_full", message: error.description)
        case let JobStoreError.sqlite(sqlite) where sqlite.isDiskFull:
            failure = JobFailure(code: "disk_full", message: sqlite.description)
        case let error as TrainingError: failure = JobFailure(code: error.code, message: error.description)
        case let error as ModelLibrary.LoadError: failure = JobFailure(code: "model_unavailable", message: error.description)
        case let error as JobSpecCoding.DecodeError: failure = JobFailure(code: "invalid_spec", message: error.description)
        case JobStoreError.leaseLost: return
        default: failure = JobFailure(code: "internal_error", message: "\(error)")
        }
        log.warning("failed: \(failure.code): \(failure.message)", job: jobID)
        do { try write { try $0.fail(lease, failure: failure, now: clock()) } } catch {
            log.error("could not record the failure: \(error)", job: jobID)
        }
    }

    // MARK: Store writes under the lease

    /// A write fenced by the lease; a lost lease stops the trainer and suppresses further writes.
    @discardableResult
    private func write<T>(_ body: (StoreWriter) throws -> T) throws -> T {
        lock.lock()
        let lost = leaseLost
        lock.unlock()
        if lost { throw JobStoreError.leaseLost(jobID: jobID) }
        do {
            return try store.write(body)
        } catch JobStoreError.leaseLost(let id) {
            lock.lock()
            leaseLost = true
            lock.unlock()
            control.requestStop(.cancel)
            log.warning("lease lost; stopping without further writes", job: jobID)
            throw JobStoreError.leaseLost(jobID: id)
        }
    }

    private func report(_ event: NewEvent) {
        do { try write { try $0.appendEvent(event, lease: lease, now: clock()) } } catch {
            log.debug("event not recorded: \(error)", job: jobID)
        }
    }

    private func startHeartbeat() {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "unipelt.heartbeat.\(jobID)"))
        let interval = Double(settings.heartbeatSeconds)
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak self] in self?.beat() }
        heartbeat = timer
        timer.resume()
    }

    private func beat() {
        lock.lock()
        let progress = self.progress
        let best = bestMetric
        lock.unlock()
        do {
            let reply = try write {
                try $0.heartbeat(lease, progress: progress, bestMetric: best, leaseSeconds: settings.leaseSeconds, now: clock())
            }
            if reply == .cancelRequested { control.requestStop(.cancel) }
        } catch {
            log.debug("heartbeat: \(error)", job: jobID)
        }
    }

    // MARK: TrainingObserver

    func trainingDidEmit(_ event: TrainingEvent) {
        do {
            switch event {
            case let .step(record): try recordStep(record)
            case let .evaluation(record): try recordEvaluation(record)
            case let .checkpoint(record): try recordCheckpoint(record)
            case .finished, .stopped, .failed: break  // `run` ends the attempt from the outcome
            }
        } catch JobStoreError.leaseLost {
            // `write` already asked the trainer to stop.
        } catch {
            log.error("could not record \(event): \(error)", job: jobID)
        }
    }

    private func recordStep(_ record: StepRecord) throws {
        let now = Date()
        lock.lock()
        if let last = lastStepTime {
            metrics.observe("unipelt_training_step_seconds", help: "Wall time of one training step.",
                            buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10], value: now.timeIntervalSince(last))
        }
        lastStepTime = now
        if firstStep == nil { firstStep = (now, record.step) }
        let eta = firstStep.flatMap { first -> Int? in
            let steps = record.step - first.step
            guard steps > 0 else { return nil }
            return Int(now.timeIntervalSince(first.time) / Double(steps) * Double(record.totalSteps - record.step))
        }
        let epoch = Double(record.step) / Double(batchesPerEpoch)
        progress = JobProgress(step: record.step, totalSteps: record.totalSteps, epoch: epoch, etaSeconds: eta)
        lock.unlock()
        metrics.increment("unipelt_training_steps_total", help: "Training steps taken by all workers.")
        if control.stopRequest == nil, try isCancelling() { control.requestStop(.cancel) }
        try write {
            try $0.recordMetrics(lease, step: record.step, epoch: epoch, wallTime: now.timeIntervalSince1970,
                                 values: [NamedValue(name: "train_loss", value: Double(record.loss)),
                                          NamedValue(name: "learning_rate", value: record.learningRate)])
        }
    }

    /// A cancel is seen within one step, not only at the next heartbeat.
    private func isCancelling() throws -> Bool {
        try store.read { try $0.job(id: jobID).status == .cancelling }
    }

    private func recordEvaluation(_ record: EvaluationRecord) throws {
        // The step clock restarts after an evaluation, so its time does not count as a step.
        lock.lock()
        lastStepTime = nil
        lock.unlock()
        var values = [NamedValue(name: "valid_loss", value: record.devLoss),
                      NamedValue(name: "train_loss_mean", value: record.trainLoss)]
        values += record.devMetrics.sorted { $0.key < $1.key }.map { NamedValue(name: "valid_\($0.key)", value: $0.value) }
        values += record.testMetrics.sorted { $0.key < $1.key }.map { NamedValue(name: "test_\($0.key)", value: $0.value) }
        let epoch = Double(record.step) / Double(batchesPerEpoch)
        let gates = record.gates.map { GateValue(layer: $0.layer, submodule: GateSubmodule($0.submodule), value: $0.mean) }
        try write { writer in
            try writer.recordMetrics(lease, step: record.step, epoch: epoch, wallTime: Date().timeIntervalSince1970,
                                     values: values)
            if !gates.isEmpty { try writer.recordGates(lease, step: record.step, values: gates) }
        }
        if record.isBest {
            lock.lock()
            bestMetric = NamedValue(name: "valid_metric", value: record.devMetric)
            lock.unlock()
        }
        let test = record.testMetric.map { String(format: ", test %.4f", $0) } ?? ""
        report(NewEvent(jobID: jobID, type: "evaluation",
                        message: String(format: "step %d: dev %.4f%@%@", record.step, record.devMetric, test,
                                        record.isBest ? " (best so far)" : "")))
    }

    /// The trainer rewrites `best`/`last` in place; a hard link per step gives each recorded row a
    /// file that never changes under it, so a download always matches its recorded SHA-256.
    private func recordCheckpoint(_ record: CheckpointRecord) throws {
        let snapshot = "\(checkpointDirectory)/\(record.name)-step\(record.step).safetensors"
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: snapshot) { try fileManager.removeItem(atPath: snapshot) }
        do { try fileManager.linkItem(atPath: record.path, toPath: snapshot) } catch {
            try fileManager.copyItem(atPath: record.path, toPath: snapshot)
        }
        let metricsJSON = record.metric.map { JSONValue.object([("valid_metric", .number($0))]).serialized() }
        let replaced = try write {
            try $0.recordCheckpoint(lease, NewCheckpoint(name: record.name, step: record.step, path: snapshot,
                                                          bytes: record.bytes, sha256: record.sha256, metrics: metricsJSON),
                                    isBest: record.name == "best", now: clock()).replacedPath
        }
        if let replaced, replaced != snapshot { try? fileManager.removeItem(atPath: replaced) }
        metrics.increment("unipelt_checkpoints_written_total",
                          help: "Checkpoints written by all workers, by why: evaluation, periodic or suspension.",
                          labels: ["reason": record.reason.rawValue])
        metrics.observe("unipelt_checkpoint_write_seconds", help: "Wall time of writing one checkpoint file.",
                        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], value: record.seconds)
        if record.reason == .periodic {
            report(NewEvent(jobID: jobID, type: "checkpoint",
                            message: record.summary,
                            data: JSONValue.object([("step", .number(Double(record.step))),
                                                    ("bytes", .number(Double(record.bytes))),
                                                    ("seconds", .number(record.seconds))]).serialized()))
        }
    }

    /// The trainer's result in snake_case: the store's results table reads `test_metric` and `metric`.
    static func resultJSON(_ result: TrainingResult) throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(result), as: UTF8.self)
    }
}
