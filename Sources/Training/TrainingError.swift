import Foundation
import Tensor

/// Every failure of a training job. Each case carries the context a user needs (step, path, key, limits);
/// `code` is stable for machines (the service maps it to the job's error and to HTTP answers).
public enum TrainingError: Error, Equatable, Sendable {
    /// The loss or the gradient norm (`quantity`) stopped being finite: the run cannot produce a meaningful result.
    case nanLoss(step: Int, epoch: Int, quantity: String, value: Float)
    /// A hyperparameter name that is not in `HyperparameterTable`.
    case unknownHyperparameter(name: String, allowed: [String])
    /// A hyperparameter value of the wrong kind or outside its range.
    case invalidHyperparameter(name: String, value: String, expected: String)
    /// A task name that is not a GLUE task.
    case unknownTask(name: String, allowed: [String])
    /// A method name the trainer does not know.
    case unknownMethod(name: String, allowed: [String])
    /// K is not a positive integer, or too large for the task's train split (`maximum` is the largest allowed).
    case invalidK(k: Int, maximum: Int?, reason: String)
    /// A data or model file or folder that does not exist.
    case missingData(path: String)
    /// A checkpoint that cannot be used to resume this job (wrong spec, missing tensor or state entry).
    case invalidCheckpoint(path: String, reason: String)
    /// Writing a checkpoint or a result file failed; `systemError` is the failing call's errno when known.
    case writeFailed(path: String, reason: String, systemError: Int32?)
    /// The service asked the job to stop.
    case cancelled(step: Int)
    /// The model refused a batch or a configuration (its own error code and message), at `step` when training.
    case model(code: String, message: String, step: Int?)

    public var code: String {
        switch self {
        case .nanLoss: return "nan_loss"
        case .unknownHyperparameter: return "unknown_hyperparameter"
        case .invalidHyperparameter: return "invalid_hyperparameter"
        case .unknownTask: return "unknown_task"
        case .unknownMethod: return "unknown_method"
        case .invalidK: return "invalid_k"
        case .missingData: return "missing_data"
        case .invalidCheckpoint: return "invalid_checkpoint"
        case .writeFailed: return "write_failed"
        case .cancelled: return "cancelled"
        case let .model(code, _, _): return code
        }
    }

    /// A write that failed because the disk is full (ENOSPC): the service reports it as `disk_full`.
    public var isDiskFull: Bool {
        if case .writeFailed(_, _, ENOSPC?) = self { return true }
        return false
    }

    /// `writeFailed` for `path` from whatever the writer threw, keeping the errno that Safetensors records or
    /// that Foundation reports (its underlying POSIX error, or its out-of-space code).
    static func writeFailure(path: String, cause: Error) -> TrainingError {
        if let failure = cause as? SafetensorsError {
            return .writeFailed(path: path, reason: failure.description, systemError: failure.systemError)
        }
        var systemError: Int32?
        var error: NSError? = cause as NSError
        while let current = error, systemError == nil {
            if current.domain == NSPOSIXErrorDomain { systemError = Int32(current.code) }
            // Foundation does not always attach the POSIX error (a non-atomic write to /dev/full does not).
            if current.domain == NSCocoaErrorDomain, current.code == CocoaError.fileWriteOutOfSpace.rawValue {
                systemError = ENOSPC
            }
            // Bridged through `Error`: on Linux the underlying value is not always an NSError instance.
            error = (current.userInfo[NSUnderlyingErrorKey] as? Error).map { $0 as NSError }
        }
        return .writeFailed(path: path, reason: cause.localizedDescription, systemError: systemError)
    }

    /// The step at which the failure happened, when it happened during training.
    public var step: Int? {
        switch self {
        case let .nanLoss(step, _, _, _), let .cancelled(step), let .model(_, _, step?): return step
        default: return nil
        }
    }
}

extension TrainingError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .nanLoss(step, epoch, quantity, value):
            return "\(quantity) became \(value) at step \(step) (epoch \(epoch)); lower the learning rate"
        case let .unknownHyperparameter(name, allowed):
            return "unknown hyperparameter '\(name)'; allowed: \(allowed.joined(separator: ", "))"
        case let .invalidHyperparameter(name, value, expected):
            return "hyperparameter \(name) = \(value) is invalid: expected \(expected)"
        case let .unknownTask(name, allowed):
            return "unknown task '\(name)'; expected one of \(allowed.joined(separator: ", "))"
        case let .unknownMethod(name, allowed):
            return "unknown method '\(name)'; expected one of \(allowed.joined(separator: ", "))"
        case let .invalidK(k, maximum, reason):
            return "k = \(k) is invalid: \(reason)" + (maximum.map { " (maximum \($0))" } ?? "")
        case let .missingData(path):
            return "missing file or folder: \(path)"
        case let .invalidCheckpoint(path, reason):
            return "cannot resume from \(path): \(reason)"
        case let .writeFailed(path, reason, _):
            return "cannot write \(path): \(reason)"
        case let .cancelled(step):
            return "cancelled at step \(step)"
        case let .model(_, message, step):
            return message + (step.map { " (step \($0))" } ?? "")
        }
    }

    public var errorDescription: String? { description }
}
