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

/// Which permutation of the train split a job draws its rows from.
public enum SplitKind: String, CaseIterable, Codable, Sendable {
    /// numpy's `default_rng(seed).permutation(n)`: what Hugging Face `datasets`' `shuffle(seed=)` gives the
    /// reference code, so the same seed picks the same rows (the default).
    case official
    /// SplitMix64 Fisher–Yates: the rows of unipelt results from before `official` existed.
    case splitmix

    /// The train split's row indices in the order this kind shuffles them.
    public func permutation(count: Int, seed: UInt64) -> [Int] {
        switch self {
        case .official:
            return NumpyPCG64.permutation(count: count, seed: seed)
        case .splitmix:
            var order = Array(0..<count)
            var generator = SplitMix64(seed: seed)
            generator.shuffle(&order)
            return order
        }
    }
}

/// The UniPELT paper's low-resource data protocol (`train_as_val=True` in its run_glue.py): the whole train
/// split is shuffled with the job's seed; its first K examples are the training set and the next `devSize`
/// (1000) the dev set for checkpoint selection and early stopping; the GLUE validation file is the test set.
/// With `.all` the whole (shuffled) train split is trained on and the GLUE validation file is both dev and
/// test set.
public struct KShotSplit: Sendable {
    public let train: [GLUEExample]
    public let dev: [GLUEExample]
    public let test: [GLUEExample]
    /// Where `train` and `dev` come from: 0-based indices into the train file's examples (empty `devRows`
    /// when the dev set is the GLUE validation file).
    public let trainRows: [Int]
    public let devRows: [Int]

    public static let standardDevSize = 1000

    /// The largest K a train split of `trainRows` examples allows: the next `devSize` rows must be left for dev.
    public static func maximumK(trainRows: Int, devSize: Int = standardDevSize) -> Int { trainRows - devSize }

    public static func make(dataset: GLUEDataset, size: TrainingSize, seed: UInt64, kind: SplitKind,
                            devSize: Int = standardDevSize) throws -> KShotSplit {
        try make(task: dataset.task, trainRows: dataset.train.examples, testRows: dataset.validation.examples,
                 size: size, seed: seed, kind: kind, devSize: devSize)
    }

    /// `task` only names the task in errors. Throws when K is not positive or leaves fewer than `devSize` rows.
    public static func make(task: GLUETask, trainRows: [GLUEExample], testRows: [GLUEExample],
                            size: TrainingSize, seed: UInt64, kind: SplitKind,
                            devSize: Int = standardDevSize) throws -> KShotSplit {
        precondition(devSize >= 0, "KShotSplit: devSize must not be negative")
        if case let .k(k) = size {
            guard k > 0 else { throw TextError.invalidTrainingSize(k: k) }
            let maximum = maximumK(trainRows: trainRows.count, devSize: devSize)
            guard k <= maximum else {
                throw TextError.trainingSizeTooLarge(task: task, k: k, maximum: maximum,
                                                     trainRows: trainRows.count, devSize: devSize)
            }
        }
        let order = kind.permutation(count: trainRows.count, seed: seed)
        switch size {
        case let .k(k):
            let train = Array(order[..<k]), dev = Array(order[k..<(k + devSize)])
            return KShotSplit(train: train.map { trainRows[$0] }, dev: dev.map { trainRows[$0] }, test: testRows,
                              trainRows: train, devRows: dev)
        case .all:
            return KShotSplit(train: order.map { trainRows[$0] }, dev: testRows, test: testRows,
                              trainRows: order, devRows: [])
        }
    }
}
