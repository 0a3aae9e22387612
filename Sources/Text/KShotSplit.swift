/// How much of the train split a job trains on: the first K shuffled examples, or all of them.
public enum TrainingSize: Equatable, Hashable, Sendable, CustomStringConvertible {
    case k(Int)
    case all

    public var description: String {
        switch self {
        case let .k(count): return String(count)
        case .all: return "all"
        }
    }
}

/// The data protocol of method.md §10.1 (`train_as_val=True`): the whole train split is shuffled with the job's
/// seed; its first K examples are the training set and the next `devSize` (1000) the dev set for checkpoint
/// selection and early stopping; the GLUE validation file is the test set. With `.all` the whole (shuffled)
/// train split is trained on and the GLUE validation file is both dev and test set.
public struct KShotSplit: Sendable {
    public let train: [GLUEExample]
    public let dev: [GLUEExample]
    public let test: [GLUEExample]

    public static let standardDevSize = 1000

    public static func make(dataset: GLUEDataset, size: TrainingSize, seed: UInt64,
                            devSize: Int = standardDevSize) throws -> KShotSplit {
        try make(task: dataset.task, trainRows: dataset.train.examples, testRows: dataset.validation.examples,
                 size: size, seed: seed, devSize: devSize)
    }

    /// `task` only names the task in errors. Throws when K is not positive or leaves fewer than `devSize` rows.
    public static func make(task: GLUETask, trainRows: [GLUEExample], testRows: [GLUEExample],
                            size: TrainingSize, seed: UInt64, devSize: Int = standardDevSize) throws -> KShotSplit {
        precondition(devSize >= 0, "KShotSplit: devSize must not be negative")
        if case let .k(k) = size {
            guard k > 0 else { throw TextError.invalidTrainingSize(k: k) }
            let maximum = trainRows.count - devSize
            guard k <= maximum else {
                throw TextError.trainingSizeTooLarge(task: task, k: k, maximum: maximum,
                                                     trainRows: trainRows.count, devSize: devSize)
            }
        }
        var shuffled = trainRows
        var generator = SplitMix64(seed: seed)
        generator.shuffle(&shuffled)
        switch size {
        case let .k(k):
            return KShotSplit(train: Array(shuffled[..<k]), dev: Array(shuffled[k..<(k + devSize)]), test: testRows)
        case .all:
            return KShotSplit(train: shuffled, dev: testRows, test: testRows)
        }
    }
}
