import Foundation
import Text

/// One split, tokenised once: every example's unpadded encoding (truncated to `max_seq_length`) and its label.
public struct EncodedSplit: Sendable {
    public let encodings: [Encoding]
    public let labels: [Label]

    public init(_ examples: [GLUEExample], tokenizer: BertTokenizer, maxSeqLength: Int) {
        encodings = examples.map { tokenizer.encode($0.text, $0.pair, maxLength: maxSeqLength) }
        labels = examples.map(\.label)
    }

    public var count: Int { encodings.count }
    public var lengths: [Int] { encodings.map(\.count) }
    public var longest: Int { encodings.map(\.count).max() ?? 0 }
}

/// The three splits of one job (see `KShotSplit`): K train examples, 1000 dev examples for selection and
/// early stopping, and the GLUE validation file as test set.
public struct TrainingData: Sendable {
    public let task: GLUETask
    public let train: EncodedSplit
    public let dev: EncodedSplit
    public let test: EncodedSplit
    /// The tokenizer's `[PAD]` id.
    public let padId: Int
    /// 0-based indices into the train file's examples of `train` and `dev` (`devRows` is empty when the dev
    /// set is the GLUE validation file).
    public let trainRows: [Int]
    public let devRows: [Int]

    public init(task: GLUETask, split: KShotSplit, tokenizer: BertTokenizer, maxSeqLength: Int) {
        self.init(task: task, split: split, tokenizer: tokenizer, maxSeqLength: maxSeqLength,
                  test: EncodedSplit(split.test, tokenizer: tokenizer, maxSeqLength: maxSeqLength))
    }

    /// With the test split already encoded (it is `split.test`, the same for every seed).
    init(task: GLUETask, split: KShotSplit, tokenizer: BertTokenizer, maxSeqLength: Int, test: EncodedSplit) {
        self.task = task
        padId = tokenizer.padId
        trainRows = split.trainRows
        devRows = split.devRows
        train = EncodedSplit(split.train, tokenizer: tokenizer, maxSeqLength: maxSeqLength)
        dev = EncodedSplit(split.dev, tokenizer: tokenizer, maxSeqLength: maxSeqLength)
        self.test = test
    }

    /// Reads `<glueDirectory>/<TASK>/` and applies the K-shot protocol with the job's seed and split kind. Errors
    /// name the path (`missing_data`) or the largest K the task allows (`invalid_k`).
    public static func load(task: GLUETask, size: TrainingSize, seed: UInt64, split kind: SplitKind,
                            glueDirectory: String,
                            tokenizer: BertTokenizer, maxSeqLength: Int,
                            devSize: Int = KShotSplit.standardDevSize) throws -> TrainingData {
        let taskDirectory = (glueDirectory as NSString).appendingPathComponent(task.directoryName)
        for path in [glueDirectory, taskDirectory] where !FileManager.default.fileExists(atPath: path) {
            throw TrainingError.missingData(path: path)
        }
        let dataset = try readDataset(task: task, glueDirectory: glueDirectory)
        let split = try kShotSplit(dataset, size: size, seed: seed, kind: kind, devSize: devSize)
        return TrainingData(task: task, split: split, tokenizer: tokenizer, maxSeqLength: maxSeqLength)
    }

    /// The task's files; a missing one is `missing_data` naming it.
    static func readDataset(task: GLUETask, glueDirectory: String) throws -> GLUEDataset {
        do {
            return try GLUEDataset.load(task: task, glueDirectory: URL(fileURLWithPath: glueDirectory))
        } catch let TextError.unreadableFile(path, _) {
            throw TrainingError.missingData(path: path)
        }
    }

    /// The K-shot protocol on `dataset`; a K too large is `invalid_k` with the largest allowed.
    static func kShotSplit(_ dataset: GLUEDataset, size: TrainingSize, seed: UInt64, kind: SplitKind,
                           devSize: Int) throws -> KShotSplit {
        let task = dataset.task
        do {
            return try KShotSplit.make(dataset: dataset, size: size, seed: seed, kind: kind, devSize: devSize)
        } catch let TextError.invalidTrainingSize(k) {
            throw TrainingError.invalidK(k: k, maximum: nil, reason: "k must be a positive integer or \"all\"")
        } catch let TextError.trainingSizeTooLarge(_, k, maximum, trainRows, devSize) {
            throw TrainingError.invalidK(k: k, maximum: maximum, reason: "\(task.rawValue) has \(trainRows) train rows "
                                         + "and \(devSize) are held out as the dev set")
        }
    }
}
