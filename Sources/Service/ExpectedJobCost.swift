import Foundation
import Text
import Training

/// A job's expected work, in examples through one forward pass, from its spec and the task's row counts:
/// training (a step costs about three forward passes, full fine-tuning more) plus scoring the dev rows at
/// each evaluation and the test rows once. Early stopping is unknown in advance, so every epoch counts. Only
/// the order it gives matters: workers claim a sweep's largest jobs first, so the sweep does not end with
/// one long job running alone on an otherwise idle machine.
enum ExpectedJobCost {
    /// Relative cost of one training step per method, from `unipelt bench step` (full fine-tuning computes
    /// and applies every weight gradient).
    static func stepFactor(_ method: String) -> Double {
        switch method {
        case "finetune": return 1.6
        case "bitfit": return 1.1
        default: return 1
        }
    }

    /// `installation` gives the rows of the task's files (nil or missing files: the K-shot sizes alone).
    static func estimate(_ cell: JobCell, installation: Installation?) -> Double {
        guard let task = GLUETask(rawValue: cell.task),
              let spec = try? JobSpecCoding.trainingSpec(fromStored: JobSpecCoding.encode(cell)) else { return 0 }
        let hp = spec.hyperparameters
        func rows(_ split: GLUESplit) -> Int? {
            guard let installation, installation.missingFiles(of: task).isEmpty else { return nil }
            return RowCounter.shared.rows(in: installation.path(of: task, split),
                                          header: task.headerlessFieldCount == nil)
        }
        let devRows = KShotSplit.standardDevSize
        let trainRows: Int
        switch cell.k {
        case .k(let k): trainRows = k
        case .all: trainRows = max((rows(.train) ?? 10_000) - devRows, 1)
        }
        let testRows = rows(.validation) ?? devRows
        let stepsPerEpoch = (trainRows + hp.batchSize - 1) / hp.batchSize
        let evaluations = hp.evalEverySteps > 0
            ? Double(hp.epochs * stepsPerEpoch) / Double(hp.evalEverySteps) : Double(hp.epochs)
        let training = Double(hp.epochs * trainRows) * 3 * stepFactor(cell.method)
        let scoring = evaluations * Double(devRows) + Double(testRows) * (hp.testEveryEval ? evaluations : 1)
        return training + scoring
    }
}
