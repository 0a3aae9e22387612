import Foundation
import Model
import Text

/// Progress of one job, in order: steps and evaluations as they happen, checkpoints as they are written, then
/// exactly one of `finished`, `stopped` or `failed`.
public enum TrainingEvent: Sendable {
    case step(StepRecord)
    case evaluation(EvaluationRecord)
    case checkpoint(CheckpointRecord)
    case finished(TrainingResult)
    /// The job stopped on request (`TrainingControl`); after a suspension the `last` checkpoint holds the position.
    case stopped(StopRequest, step: Int)
    case failed(TrainingError)
}

/// Receives a job's events on the training thread; it should return quickly (store them, print a line).
public protocol TrainingObserver: AnyObject {
    func trainingDidEmit(_ event: TrainingEvent)
}

/// One optimisation step.
public struct StepRecord: Codable, Equatable, Sendable {
    /// 1-based count of optimiser steps taken.
    public let step: Int
    public let totalSteps: Int
    /// 0-based epoch of this step.
    public let epoch: Int
    public let loss: Float
    /// The rate this step used.
    public let learningRate: Double
    /// Examples per second over this step (wall clock).
    public let examplesPerSecond: Double
}

/// The mean gate value of one gated submodule of one layer over the dev set.
public struct GateMean: Codable, Equatable, Sendable {
    public let layer: Int
    public let submodule: GateSite
    public let mean: Double
}

/// One evaluation on dev (and on test under `test_every_eval`).
public struct EvaluationRecord: Codable, Equatable, Sendable {
    public let step: Int
    public let epoch: Int
    /// Mean training loss over the steps since the previous evaluation.
    public let trainLoss: Double
    public let devLoss: Double
    /// Every metric of the task (e.g. accuracy and f1 for MRPC), by name.
    public let devMetrics: [String: Double]
    /// Empty unless the test split was scored at this evaluation.
    public let testMetrics: [String: Double]
    /// The task's selection metric on dev, and on test when it was scored.
    public let devMetric: Double
    public let testMetric: Double?
    /// Whether this evaluation improved the best dev metric (and so wrote the `best` checkpoint).
    public let isBest: Bool
    public let gates: [GateMean]
}

/// A checkpoint file that was written completely (renamed into place and fsynced).
public struct CheckpointRecord: Codable, Equatable, Sendable {
    /// `best` or `last`.
    public let name: String
    public let path: String
    public let bytes: Int
    public let sha256: String
    public let step: Int
    /// The dev metric of the state it holds.
    public let metric: Double?
    public let reason: CheckpointReason
    /// Wall time of the write, fsyncs and checksum: what the checkpoint cost the training.
    public let seconds: Double

    /// One line for logs and events: "periodic checkpoint last at step 120: 1.4 MB in 12 ms".
    public var summary: String {
        String(format: "%@ checkpoint %@ at step %d: %.1f MB in %.0f ms", reason.rawValue, name, step,
               Double(bytes) / 1e6, seconds * 1e3)
    }
}

/// Why a checkpoint was written.
public enum CheckpointReason: String, Codable, Sendable {
    /// After an evaluation: `best` when it improved, and `last`.
    case evaluation
    /// `last` between evaluations, once `checkpoint_every_seconds` passed since the previous `last`.
    case periodic
    /// `last` when the job was asked to suspend, so it resumes at that step.
    case suspension
}

/// What a finished job reports.
public struct TrainingResult: Codable, Equatable, Sendable {
    public let task: String
    public let k: Int?
    public let seed: Int
    public let method: String
    /// The selection metric's name (`accuracy`, `f1`, `matthews`, `spearman`).
    public let metric: String
    /// The test metric of the best-dev state: the number that goes into Table 1.
    public let testMetric: Double
    public let testMetrics: [String: Double]
    public let bestDevMetric: Double
    public let bestStep: Int
    public let stepsRun: Int
    public let epochsRun: Int
    public let stoppedEarly: Bool
    public let trainableParameters: Int
    /// Which permutation drew the rows below; nil in records from before it was kept (they used `splitmix`).
    public let split: SplitKind?
    /// Which rows of the task's train file (0-based, in the parsed file's order) formed the K training and the
    /// dev examples, so another pipeline can train on exactly these. nil for `k: all` (every row trains, the dev
    /// set is the GLUE validation file) and in records from before they were kept.
    public let trainRows: [Int]?
    public let devRows: [Int]?
}

/// How the service asks a job to stop.
public enum StopRequest: String, Codable, Sendable {
    /// Stop at once; the job is abandoned.
    case cancel
    /// Write the `last` checkpoint at the current position, then stop; the job resumes later from it.
    case suspend
}

/// A flag the service flips from any thread; the trainer checks it before every step, so it stops within one step.
public final class TrainingControl: @unchecked Sendable {
    private let lock = NSLock()
    private var requested: StopRequest?

    public init() {}

    /// A cancel overrides a pending suspension (the job is abandoned anyway); a suspension never undoes a cancel.
    public func requestStop(_ request: StopRequest) {
        lock.lock()
        defer { lock.unlock() }
        if request == .cancel || requested == nil { requested = request }
    }

    public var stopRequest: StopRequest? {
        lock.lock()
        defer { lock.unlock() }
        return requested
    }
}
