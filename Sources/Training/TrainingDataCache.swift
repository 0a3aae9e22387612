import Foundation
import Text

/// GLUE data prepared once per process: the task's files are read once (until they change on disk), the test
/// split (the GLUE validation file, the same for every seed) is tokenised once per model, and the K-shot data
/// of one (model, task, K, seed, split) is built once and shared by every job that asks for it, such as the
/// methods of one grid cell running side by side. Each memo keeps its `capacity` most recently used entries.
public final class TrainingDataCache: @unchecked Sendable {
    public static let shared = TrainingDataCache(capacity: 8)

    private struct FilesKey: Hashable {
        let glueDirectory: String
        let task: GLUETask
        /// Size and modification time of every file in the task's folder: a replaced file is read again.
        let stamps: [String]
    }

    private struct EncodingKey: Hashable {
        let files: FilesKey
        /// Names the tokenizer: the model whose vocabulary it is.
        let tokenizer: String
        let maxSeqLength: Int
    }

    private struct DataKey: Hashable {
        let encoding: EncodingKey
        let size: TrainingSize
        let seed: UInt64
        let split: SplitKind
        let devSize: Int
    }

    /// A small memo that forgets its least recently used entry.
    private struct Memo<Key: Hashable, Value> {
        let capacity: Int
        private var values: [Key: Value] = [:]
        private var recency: [Key] = []

        init(capacity: Int) { self.capacity = capacity }

        mutating func value(_ key: Key, make: () throws -> Value) rethrows -> Value {
            if let value = values[key] {
                recency.removeAll { $0 == key }
                recency.append(key)
                return value
            }
            let value = try make()
            values[key] = value
            recency.append(key)
            if recency.count > capacity { values[recency.removeFirst()] = nil }
            return value
        }
    }

    private let lock = NSLock()
    private var datasets: Memo<FilesKey, GLUEDataset>
    private var tests: Memo<EncodingKey, EncodedSplit>
    private var data: Memo<DataKey, TrainingData>
    private var trainCounts: Memo<FilesKey, Int>
    private let countLock = NSLock()
    /// How many times files were parsed and splits tokenised; tests read them.
    public private(set) var datasetReads = 0
    public private(set) var dataBuilds = 0

    public init(capacity: Int) {
        datasets = Memo(capacity: capacity)
        tests = Memo(capacity: capacity)
        data = Memo(capacity: capacity)
        trainCounts = Memo(capacity: GLUETask.allCases.count)
    }

    /// `TrainingData.load` through the memos; `tokenizerKey` must name `tokenizer` (the model's folder or name).
    /// Loads take turns: a second job for the same data waits for the first and shares its result.
    public func load(task: GLUETask, size: TrainingSize, seed: UInt64, split kind: SplitKind, glueDirectory: String,
                     tokenizer: BertTokenizer, tokenizerKey: String, maxSeqLength: Int,
                     devSize: Int = KShotSplit.standardDevSize) throws -> TrainingData {
        let files = try Self.files(task: task, glueDirectory: glueDirectory)
        let encoding = EncodingKey(files: files, tokenizer: tokenizerKey, maxSeqLength: maxSeqLength)
        let key = DataKey(encoding: encoding, size: size, seed: seed, split: kind, devSize: devSize)
        lock.lock()
        defer { lock.unlock() }
        return try data.value(key) {
            let dataset = try dataset(files)
            let test = tests.value(encoding) {
                EncodedSplit(dataset.validation.examples, tokenizer: tokenizer, maxSeqLength: maxSeqLength)
            }
            dataBuilds += 1
            let split = try TrainingData.kShotSplit(dataset, size: size, seed: seed, kind: kind, devSize: devSize)
            return TrainingData(task: task, split: split, tokenizer: tokenizer, maxSeqLength: maxSeqLength, test: test)
        }
    }

    /// How many examples the task's train file holds (read once until its files change, keeping only the count):
    /// what a K is checked against before any job runs.
    public func trainExampleCount(task: GLUETask, glueDirectory: String) throws -> Int {
        let files = try Self.files(task: task, glueDirectory: glueDirectory)
        // A lock of its own: a request checking a K must not wait for a job building its data.
        countLock.lock()
        defer { countLock.unlock() }
        return try trainCounts.value(files) {
            try GLUEDataset.read(task: task, split: .train, glueDirectory: URL(fileURLWithPath: files.glueDirectory))
                .examples.count
        }
    }

    /// Call with `lock` held.
    private func dataset(_ files: FilesKey) throws -> GLUEDataset {
        try datasets.value(files) {
            datasetReads += 1
            return try TrainingData.readDataset(task: files.task, glueDirectory: files.glueDirectory)
        }
    }

    private static func files(task: GLUETask, glueDirectory: String) throws -> FilesKey {
        let directory = URL(fileURLWithPath: glueDirectory).standardizedFileURL.path
        let taskDirectory = (directory as NSString).appendingPathComponent(task.directoryName)
        for path in [glueDirectory, taskDirectory] where !FileManager.default.fileExists(atPath: path) {
            throw TrainingError.missingData(path: path)
        }
        return FilesKey(glueDirectory: directory, task: task, stamps: stamps(of: taskDirectory))
    }

    private static func stamps(of directory: String) -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        return names.map { name in
            let attributes = try? FileManager.default.attributesOfItem(atPath: (directory as NSString)
                .appendingPathComponent(name))
            let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(name):\(size):\(modified)"
        }
    }
}
