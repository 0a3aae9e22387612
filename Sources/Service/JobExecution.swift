import Foundation
import JobStore
import Training

/// One attempt at one job: loads model and data, trains (resuming from the `last` checkpoint in its
/// checkpoint folder when an earlier attempt left one), and reports every event through its `JobReporter`
/// under the job's lease. Once the lease is lost (the rescuer gave the job to someone else) nothing more is
/// reported and the trainer stops.
final class JobExecution: TrainingObserver {
    /// What an attempt needs besides its job: where it runs and how often it reports.
    struct Settings: Sendable {
        var threads: Int
        var glueDirectory: String
        var heartbeatSeconds: Int
        /// A job's checkpoint interval unless it sets its own `checkpoint_every_seconds`.
        var checkpointEverySeconds: Int
    }

    /// The job an attempt runs: what a claim hands a worker, in this process or on another machine.
    struct Assignment: Sendable {
        var id: String
        var cellKey: String
        /// The stored job spec (JSON text).
        var spec: String
        var startsFresh: Bool
    }

    private let job: Assignment
    private let reporter: JobReporter
    private let control: TrainingControl
    /// The library holding the job's model, found once the heartbeat runs: a pull worker fetches the
    /// checkpoint to resume from and the model here, which can take longer than a lease.
    private let prepare: () throws -> ModelLibrary
    private let settings: Settings
    /// Where the trainer writes `best` and `last`, and where a resumed attempt finds `last`.
    private let checkpointDirectory: String
    private let log: ServiceLog
    private let metrics: PrometheusRegistry

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
    /// The newest `best` checkpoint whose report failed (a pull worker's upload that did not get through):
    /// sent again before the job finishes, since finishing drops `last`, which may be the only other copy.
    private var unrecordedBest: CheckpointRecord?
    /// Why a suspended attempt hands its job back, for the `requeued` event.
    var suspendReason = "service stopping"

    private var lease: Lease { reporter.lease }
    private var jobID: String { job.id }

    init(job: Assignment, reporter: JobReporter, control: TrainingControl, prepare: @escaping () throws -> ModelLibrary,
         settings: Settings, checkpointDirectory: String, log: ServiceLog, metrics: PrometheusRegistry) {
        self.job = job
        self.reporter = reporter
        self.control = control
        self.prepare = prepare
        self.settings = settings
        self.checkpointDirectory = checkpointDirectory
        self.log = log
        self.metrics = metrics
    }

    func run() {
        startHeartbeat()
        defer { heartbeat?.cancel() }
        log.info("attempt \(lease.attempt) started: \(job.cellKey)", job: jobID)
        do {
            let spec = try JobSpecCoding.trainingSpec(fromStored: job.spec)
            let model = try prepare().load(spec.model)
            if job.startsFresh {
                // Retried from scratch: the old checkpoints must not be resumed from.
                try write { try $0.startFresh() }
            }
            try FileManager.default.createDirectory(atPath: checkpointDirectory, withIntermediateDirectories: true)
            let trainer = try Trainer(spec: spec, backbone: model.backbone, tokenizer: model.tokenizer,
                                      glueDirectory: settings.glueDirectory, checkpointDirectory: checkpointDirectory,
                                      control: control)
            trainer.model.threads = settings.threads
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
                if let best = unrecordedBest { try recordCheckpoint(best) }
                let json = try Self.resultJSON(result)
                try write { try $0.finish(result: json) }
                log.info("succeeded: \(result.metric) \(result.testMetric)", job: jobID)
            case let .stopped(.cancel, step):
                try write { try $0.confirmCancelled() }
                log.info("cancelled at step \(step)", job: jobID)
            case let .stopped(.suspend, step):
                try write { try $0.requeue(reason: "\(suspendReason); resumes from step \(step)") }
                log.info("suspended at step \(step) and re-queued", job: jobID)
            }
        } catch {
            fail(error)
        }
    }

    /// Ends the attempt as failed with the error's code, unless the lease is gone or the service out of reach.
    private func fail(_ error: Error) {
        guard let failure = JobFailure(attemptError: error) else {
            if case JobStoreError.leaseLost = error { return }
            let message = "\(error); the attempt ends without a result and the job is tried again once its lease expires"
            log.error(message, job: jobID)
            report(NewEvent(jobID: jobID, level: .warning, type: "attempt_abandoned", message: message))
            return
        }
        log.warning("failed: \(failure.code): \(failure.message)", job: jobID)
        do { try write { try $0.fail(failure) } } catch {
            log.error("could not record the failure: \(error)", job: jobID)
        }
    }

    // MARK: Reports under the lease

    /// A report fenced by the lease; a lost lease stops the trainer and suppresses further reports. A
    /// report answering that the job is being cancelled stops the trainer too.
    @discardableResult
    private func write(_ body: (JobReporter) throws -> JobStatus) throws -> JobStatus {
        lock.lock()
        let lost = leaseLost
        lock.unlock()
        if lost { throw JobStoreError.leaseLost(jobID: jobID) }
        do {
            let status = try body(reporter)
            if status == .cancelling, control.stopRequest != .cancel { control.requestStop(.cancel) }
            return status
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
        do { try write { try $0.appendEvent(event) } } catch {
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
            try write { try $0.heartbeat(progress: progress, bestMetric: best) }
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
        try write {
            try $0.recordMetrics(step: record.step, epoch: epoch, wallTime: now.timeIntervalSince1970,
                                 values: [NamedValue(name: "train_loss", value: Double(record.loss)),
                                          NamedValue(name: "learning_rate", value: record.learningRate)], gates: [])
        }
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
        try write {
            try $0.recordMetrics(step: record.step, epoch: epoch, wallTime: Date().timeIntervalSince1970, values: values,
                                 gates: gates)
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

    /// The trainer rewrites `best`/`last` in place; the reporter keeps this version for its row.
    private func recordCheckpoint(_ record: CheckpointRecord) throws {
        if record.name == "best" { unrecordedBest = record }
        try write { try $0.recordCheckpoint(record) }
        if record.name == "best" { unrecordedBest = nil }
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
