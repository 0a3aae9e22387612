import Dispatch
import Foundation
import Model
import Tensor
import Text

/// How a `run` ended when it did not throw.
public enum TrainingOutcome: Sendable {
    case finished(TrainingResult)
    /// Stopped on request at `step`; after `.suspend` the `last` checkpoint holds that position.
    case stopped(StopRequest, step: Int)
}

/// Trains one job: K-shot data, one model of the shared backbone, AdamW with a linear schedule, an evaluation on
/// dev and test every epoch (or every N steps), early stopping on the dev metric, `best`/`last` checkpoints, and
/// typed events to an observer. One trainer per thread; the backbone is shared read-only.
///
///     let spec = try TrainingSpec(task: "rte", k: 100, seed: 1, method: "unipelt-apl", model: "minilm-l6",
///                                 overrides: ["epochs": .integer(20)])       // checked against HyperparameterTable
///     let trainer = try Trainer(spec: spec, backbone: backbone, tokenizer: tokenizer, glueDirectory: glue,
///                               checkpointDirectory: dir, control: control)  // control.requestStop(.cancel/.suspend)
///     trainer.observer = myObserver            // step, evaluation, checkpoint, finished / stopped / failed
///     let outcome = try trainer.run(resumingFrom: resuming ? trainer.checkpointPath("last") : nil)
public final class Trainer {
    public let spec: TrainingSpec
    public let task: GLUETask
    public let model: BertModel
    public let data: TrainingData
    /// Where `best.safetensors` and `last.safetensors` go; nil keeps everything in memory.
    public let checkpointDirectory: String?
    public weak var observer: TrainingObserver?
    public let control: TrainingControl
    public let schedule: LearningRateSchedule
    public let batchesPerEpoch: Int
    public internal(set) var state: TrainingState

    let optimizer: AdamW
    private var assembler: BatchAssembler
    /// The best evaluation's parameter values, parallel to the registry's flat buffer; restored at the end.
    let bestValues: UnsafeMutablePointer<Float>
    /// Dev and test scoring: the inference twin of `model` and each split's order and batches, fixed once.
    let evaluator: Evaluator
    let devPlan: EvaluationPlan
    let testPlan: EvaluationPlan
    private let trainLengths: [Int]
    private var hp: Hyperparameters { spec.hyperparameters }
    /// The checkpoint interval when the job sets none: the service passes its `checkpoint_every_seconds`.
    public var defaultCheckpointEverySeconds = 300.0
    /// Monotonic seconds for the checkpoint interval; tests drive their own, so nothing waits on the wall clock.
    public var clock: () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
    /// When `last` was last written (or this run began): the periodic checkpoint interval counts from here.
    var lastCheckpointTime = 0.0

    public init(spec: TrainingSpec, backbone: Backbone, data: TrainingData, checkpointDirectory: String? = nil,
                control: TrainingControl = TrainingControl()) throws {
        self.spec = spec
        task = try spec.glueTask()
        guard task == data.task else {
            throw TrainingError.unknownTask(name: spec.task, allowed: [data.task.rawValue])
        }
        self.data = data
        self.checkpointDirectory = checkpointDirectory
        self.control = control
        let hp = spec.hyperparameters
        let pelt = try spec.peltConfig(hiddenSize: backbone.config.hiddenSize)
        guard hp.maxSeqLength <= backbone.config.maxPositions else {
            throw TrainingError.invalidHyperparameter(name: HyperparameterTable.spec(for: \.maxSeqLength).name,
                                                      value: String(hp.maxSeqLength),
                                                      expected: "at most the model's \(backbone.config.maxPositions) positions")
        }
        guard data.train.count > 0, data.dev.count > 0, data.test.count > 0 else {
            throw TrainingError.invalidK(k: data.train.count, maximum: nil, reason: "a split is empty")
        }
        let planLength = hp.padding == .maxLength ? hp.maxSeqLength : data.train.longest
        devPlan = EvaluationPlan(lengths: data.dev.lengths, job: hp)
        testPlan = EvaluationPlan(lengths: data.test.lengths, job: hp)
        do {
            model = try BertModel(backbone: backbone, pelt: pelt, numLabels: task.numberOfLabels,
                                  maxBatch: hp.batchSize, maxSeqLen: planLength, seed: UInt64(spec.seed))
            evaluator = try Evaluator(trained: model, task: task, plans: [devPlan, testPlan], padId: data.padId,
                                      maxSeqLength: hp.maxSeqLength, padding: hp.padding)
        } catch let error as ModelError {
            throw TrainingError.model(code: error.code, message: error.description, step: nil)
        }
        optimizer = AdamW(parameters: model.parameters,
                          hyperparameters: AdamW.Hyperparameters(weightDecay: Float(hp.weightDecay)))
        assembler = BatchAssembler(maxBatch: hp.batchSize, maxSeqLength: hp.maxSeqLength, padding: hp.padding,
                                   padId: data.padId, isRegression: task.isRegression)
        batchesPerEpoch = (data.train.count + hp.batchSize - 1) / hp.batchSize
        schedule = LearningRateSchedule(peak: hp.learningRate, totalSteps: hp.epochs * batchesPerEpoch,
                                        warmupRatio: hp.warmupRatio)
        state = TrainingState(seed: UInt64(spec.seed), patience: hp.earlyStoppingPatience)
        bestValues = .allocate(capacity: max(model.parameters.count, 1))
        bestValues.initialize(from: model.parameters.values, count: model.parameters.count)
        trainLengths = data.train.lengths
    }

    /// Takes the job's K-shot data from `dataCache` (read from `glueDirectory` once per process; errors name the
    /// missing path or the largest K), then builds the trainer: what a service worker calls with its shared
    /// backbone and tokenizer (the spec's model names the tokenizer).
    public convenience init(spec: TrainingSpec, backbone: Backbone, tokenizer: BertTokenizer, glueDirectory: String,
                            checkpointDirectory: String? = nil, control: TrainingControl = TrainingControl(),
                            dataCache: TrainingDataCache = .shared) throws {
        let data = try dataCache.load(task: try spec.glueTask(), size: spec.trainingSize, seed: UInt64(spec.seed),
                                      split: spec.hyperparameters.split, glueDirectory: glueDirectory,
                                      tokenizer: tokenizer, tokenizerKey: spec.model,
                                      maxSeqLength: spec.hyperparameters.maxSeqLength)
        try self.init(spec: spec, backbone: backbone, data: data, checkpointDirectory: checkpointDirectory,
                      control: control)
    }

    deinit { bestValues.deallocate() }

    /// Trains until the epochs run out, early stopping triggers, or `control` asks to stop. With
    /// `resumingFrom`, continues from that `last` checkpoint exactly as if the run had never stopped.
    /// Emits `failed` and rethrows on any error.
    public func run(resumingFrom checkpoint: String? = nil) throws -> TrainingOutcome {
        do {
            if let checkpoint { try restore(from: checkpoint) }
            let outcome = try trainUntilDone()
            switch outcome {
            case let .finished(result): emit(.finished(result))
            case let .stopped(request, step): emit(.stopped(request, step: step))
            }
            return outcome
        } catch let error as TrainingError {
            emit(.failed(error))
            throw error
        } catch let error as ModelError {
            let wrapped = TrainingError.model(code: error.code, message: error.description, step: state.step)
            emit(.failed(wrapped))
            throw wrapped
        }
    }

    private func trainUntilDone() throws -> TrainingOutcome {
        model.dropoutRNG = RNG(state: state.dropoutRNG)
        lastCheckpointTime = clock()
        do {
            // A suspension during an evaluation resumes with that evaluation.
            var stopped = state.evaluationPending ? try evaluate() : state.earlyStopping.shouldStop
            while !stopped && state.epoch < hp.epochs {
                var orderRNG = RNG(state: state.epochOrderRNG)
                let plan = BatchPlan(lengths: trainLengths, batchSize: hp.batchSize,
                                     bucketWindow: hp.lengthBucketWindow, rng: &orderRNG)
                while state.batchInEpoch < plan.count {
                    try checkStopRequest()
                    try step(plan.batch(state.batchInEpoch))
                    state.batchInEpoch += 1
                    let epochDone = state.batchInEpoch == plan.count
                    if epochDone {
                        // Before evaluating, so the `last` checkpoint written there resumes at the next epoch.
                        state.epoch += 1
                        state.batchInEpoch = 0
                        state.epochOrderRNG = orderRNG.state
                    }
                    let evaluationDue = hp.evalEverySteps > 0 ? state.step % hp.evalEverySteps == 0 : epochDone
                    if evaluationDue { stopped = try evaluate() } else { try writePeriodicCheckpointIfDue() }
                    if stopped || epochDone { break }
                }
            }
            if state.evaluations.last?.step != state.step {
                _ = try evaluate()  // the last steps since an every-N-steps evaluation still count for selection
            }
            return .finished(try finish())
        } catch let stop as StopSignal {
            if stop.request == .suspend { try writeLast(.suspension) }
            return .stopped(stop.request, step: state.step)
        }
    }

    /// Thrown out of a step or an evaluation batch when the service asks the job to stop.
    private struct StopSignal: Error {
        let request: StopRequest
    }

    /// Checked before every step and every evaluation batch, so a request takes effect within one of them.
    func checkStopRequest() throws {
        if let request = control.stopRequest { throw StopSignal(request: request) }
    }

    /// Seconds between periodic `last` checkpoints: the job's `checkpoint_every_seconds`, else the default.
    public var checkpointEverySeconds: Double { hp.checkpointEverySeconds ?? defaultCheckpointEverySeconds }

    /// Writes `last` at this step boundary once the interval has passed since the previous `last`, so a crash
    /// loses at most that much training. Evaluations restart the interval: never more often than they write.
    private func writePeriodicCheckpointIfDue() throws {
        guard checkpointEverySeconds > 0, clock() - lastCheckpointTime >= checkpointEverySeconds else { return }
        try writeLast(.periodic)
    }

    /// forward → zero grads → backward → clip → AdamW, with the schedule's rate for this step.
    private func step(_ indices: ArraySlice<Int>) throws {
        let started = DispatchTime.now().uptimeNanoseconds
        let batch = try assembler.assemble(data.train, indices)
        let parameters = model.parameters
        parameters.zeroGradients()
        let loss = try model.forward(batch, training: hp.dropout)
        guard loss.isFinite else {
            throw TrainingError.nanLoss(step: state.step + 1, epoch: state.epoch, quantity: "loss", value: loss)
        }
        model.backward()
        let norm = GradientClipping.clip(parameters.gradients, count: parameters.count, maxNorm: Float(hp.maxGradNorm))
        guard norm.isFinite else {
            throw TrainingError.nanLoss(step: state.step + 1, epoch: state.epoch, quantity: "gradient norm", value: norm)
        }
        let rate = schedule.rate(atStep: state.step)
        optimizer.step(learningRate: Float(rate))
        state.step += 1
        state.lossSum += Double(loss)
        state.lossSteps += 1
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        emit(.step(StepRecord(step: state.step, totalSteps: schedule.totalSteps, epoch: state.epoch, loss: loss,
                              learningRate: rate, examplesPerSecond: Double(indices.count) / max(seconds, 1e-9))))
    }

    /// Evaluates dev (and test under `test_every_eval`), updates early stopping and the best state, writes `best`
    /// (when improved) and `last`. Returns whether training should stop.
    private func evaluate() throws -> Bool {
        state.evaluationPending = true
        let dev = try evaluate(data.dev, plan: devPlan, collectGates: model.pelt.hasGates)
        let test = hp.testEveryEval ? try evaluate(data.test, plan: testPlan, collectGates: false) : nil
        let isBest = state.earlyStopping.record(metric: dev.report.primary, step: state.step)
        let record = EvaluationRecord(
            step: state.step, epoch: state.epoch,
            trainLoss: state.lossSteps > 0 ? state.lossSum / Double(state.lossSteps) : .nan,
            devLoss: dev.loss, devMetrics: dev.report.named, testMetrics: test?.report.named ?? [:],
            devMetric: dev.report.primary, testMetric: test?.report.primary, isBest: isBest, gates: dev.gates)
        state.evaluations.append(record)
        state.evaluationPending = false
        state.lossSum = 0
        state.lossSteps = 0
        emit(.evaluation(record))
        if isBest {
            Buffer.copy(model.parameters.values, bestValues, model.parameters.count)
            state.bestStateStep = state.step
            try writeCheckpoint(named: "best", metric: record.devMetric)
        }
        try writeLast()
        return state.earlyStopping.shouldStop
    }

    private func writeLast(_ reason: CheckpointReason = .evaluation) throws {
        try writeCheckpoint(named: "last", metric: state.evaluations.last?.devMetric, reason: reason)
    }

    /// Restores the best state into the model and scores the test split on it, once (the paper's protocol: the
    /// best-dev checkpoint is loaded at the end, then tested). A stop during that pass swaps the current state
    /// back, so a suspension's `last` checkpoint holds the state training ended with.
    private func finish() throws -> TrainingResult {
        let best = state.evaluations.first { $0.step == state.bestStateStep && $0.isBest } ?? state.evaluations.last!
        let parameters = model.parameters
        Buffer.swap(bestValues, parameters.values, parameters.count)
        let test: (metric: Double, metrics: [String: Double])
        if let metric = best.testMetric {
            test = (metric, best.testMetrics)
        } else {
            do {
                let report = try evaluate(data.test, plan: testPlan, collectGates: false).report
                test = (report.primary, report.named)
            } catch {
                Buffer.swap(bestValues, parameters.values, parameters.count)
                throw error
            }
        }
        Buffer.copy(parameters.values, bestValues, parameters.count)
        return TrainingResult(
            task: spec.task, k: spec.k, seed: spec.seed, method: spec.method, metric: task.primaryMetric.rawValue,
            testMetric: test.metric, testMetrics: test.metrics, bestDevMetric: best.devMetric,
            bestStep: best.step, stepsRun: state.step, epochsRun: state.epoch,
            stoppedEarly: state.earlyStopping.shouldStop,
            trainableParameters: model.parameters.trainable.reduce(0) { $0 + $1.value.count },
            split: hp.split, trainRows: spec.k == nil ? nil : data.trainRows,
            devRows: spec.k == nil ? nil : data.devRows)
    }

    /// Scores `split` on the evaluator; a stop request is honoured between batches.
    func evaluate(_ split: EncodedSplit, plan: EvaluationPlan, collectGates: Bool) throws -> SplitEvaluation {
        let evaluation = try evaluator.evaluate(split, plan: plan, collectGates: collectGates, beforeBatch: checkStopRequest)
        // Non-finite outputs still give a plausible metric (argmax of NaN is class 0; ranks of NaN keep their
        // order): a model in that state must fail, not be selected.
        guard evaluation.loss.isFinite else {
            throw TrainingError.nanLoss(step: state.step, epoch: state.epoch, quantity: "evaluation loss",
                                        value: Float(evaluation.loss))
        }
        return evaluation
    }

    func emit(_ event: TrainingEvent) {
        observer?.trainingDidEmit(event)
    }
}

extension MetricReport {
    /// Metric values by their HF names.
    var named: [String: Double] {
        Dictionary(uniqueKeysWithValues: values.map { ($0.key.rawValue, $0.value) })
    }
}
