import Foundation
import HTTP
import Model
import Text

/// `GET /v1/models` and `GET /v1/tasks`: what a sweep can name on this machine, read from the files.
struct CatalogAPI {
    let context: APIContext

    func register(on router: inout Router, _ routes: APIRoutes) {
        router.get("/v1/models", description: RouteDescription(
            "Installed models: layers, hidden size, vocabulary, bytes on disk, default", tag: "catalog"),
            routes.v1 { _ in try .api(ListEnvelope(models(), hasMore: false)) })
        router.get("/v1/tasks", description: RouteDescription(
            "GLUE tasks: installed or not, rows per split, metric, labels", tag: "catalog"),
            routes.v1 { _ in try .api(ListEnvelope(tasks(), hasMore: false)) })
    }

    private var installation: Installation {
        context.installation ?? Installation(glueDirectory: "", modelDirectory: "", defaultModel: "")
    }

    private func models() -> [ModelObject] {
        let installation = self.installation
        return installation.modelFolders().map { name in
            let folder = "\(installation.modelDirectory)/\(name)"
            return ModelObject(name: name, isDefault: name == installation.defaultModel,
                               config: Result { try BertConfig.load(path: "\(folder)/config.json") },
                               bytes: DiskUsage.bytes(under: folder))
        }
    }

    private func tasks() -> [TaskObject] {
        let installation = self.installation
        return GLUETask.allCases.map { task in
            let missing = installation.missingFiles(of: task)
            let rows = missing.isEmpty
                ? Dictionary(uniqueKeysWithValues: GLUESplit.allCases.map {
                    ($0.rawValue, RowCounter.shared.rows(in: installation.path(of: task, $0), header: task.headerlessFieldCount == nil))
                })
                : nil
            return TaskObject(task, installed: missing.isEmpty, missingFiles: missing, rows: rows)
        }
    }
}

/// One installed model: its folder name and the shape its `config.json` declares.
struct ModelObject: Encodable, Identified {
    let object = "model"
    let id: String
    let name: String
    let `default`: Bool
    let layers: Nullable<Int>
    let hidden_size: Nullable<Int>
    let attention_heads: Nullable<Int>
    let vocab_size: Nullable<Int>
    let bytes_on_disk: Int
    /// Why `config.json` could not be read; the folder is listed anyway so the problem is visible.
    let error: Nullable<String>

    init(name: String, isDefault: Bool, config: Result<BertConfig, Error>, bytes: Int) {
        id = name
        self.name = name
        `default` = isDefault
        let loaded = try? config.get()
        layers = Nullable(loaded?.numLayers)
        hidden_size = Nullable(loaded?.hiddenSize)
        attention_heads = Nullable(loaded?.numHeads)
        vocab_size = Nullable(loaded?.vocabSize)
        bytes_on_disk = bytes
        if case .failure(let failure) = config { error = Nullable("\(failure)") } else { error = Nullable(nil) }
    }
}

/// One GLUE task: whether its files are installed, their data rows, how it is scored and its labels.
struct TaskObject: Encodable, Identified {
    let object = "task"
    let id: String
    let name: String
    let directory: String
    let installed: Bool
    let missing_files: [String]
    /// Data rows per split (`train`, `validation`), header excluded; null when not installed.
    let rows: Nullable<[String: Int]>
    /// The selection metric (the paper's table), then the others reported.
    let metric: String
    let metrics: [String]
    /// Class names in label order; null for the regression task (STS-B), whose range is `score_range`.
    let labels: Nullable<[String]>
    let score_range: Nullable<[Double]>

    init(_ task: GLUETask, installed: Bool, missingFiles: [String], rows: [String: Int]?) {
        id = task.rawValue
        name = task.rawValue
        directory = task.directoryName
        self.installed = installed
        missing_files = missingFiles
        self.rows = Nullable(rows)
        metric = task.primaryMetric.rawValue
        metrics = task.metrics.map(\.rawValue)
        switch task.labelKind {
        case let .categories(_, names):
            labels = Nullable(names)
            score_range = Nullable(nil)
        case let .score(range):
            labels = Nullable(nil)
            score_range = Nullable([range.lowerBound, range.upperBound])
        }
    }
}

/// Line counts of data files, remembered per path, size and modification time: MNLI's training file has
/// 393k rows, too many to count on every request.
final class RowCounter: @unchecked Sendable {
    static let shared = RowCounter()
    private let lock = NSLock()
    private var counts: [String: (size: Int, modified: Double, rows: Int)] = [:]

    /// Non-empty lines, less the header line when the file has one.
    func rows(in path: String, header: Bool) -> Int {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
        let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        lock.lock()
        if let known = counts[path], known.size == size, known.modified == modified {
            lock.unlock()
            return known.rows
        }
        lock.unlock()
        let lines = Self.nonEmptyLines(path)
        let rows = max(0, lines - (header ? 1 : 0))
        lock.lock()
        counts[path] = (size, modified, rows)
        lock.unlock()
        return rows
    }

    private static func nonEmptyLines(_ path: String) -> Int {
        guard let handle = FileHandle(forReadingAtPath: path) else { return 0 }
        defer { try? handle.close() }
        var lines = 0
        var previous = UInt8(ascii: "\n")
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            for byte in chunk {
                if byte == UInt8(ascii: "\n") && previous != UInt8(ascii: "\n") { lines += 1 }
                previous = byte
            }
        }
        return previous == UInt8(ascii: "\n") ? lines : lines + 1
    }
}

/// Bytes of the regular files under a folder (symbolic links are not followed).
enum DiskUsage {
    static func bytes(under folder: String) -> Int {
        guard let files = FileManager.default.enumerator(atPath: folder) else { return 0 }
        var total = 0
        while let relative = files.nextObject() as? String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: "\(folder)/\(relative)")
            if attributes?[.type] as? FileAttributeType == .typeRegular {
                total += (attributes?[.size] as? NSNumber)?.intValue ?? 0
            }
        }
        return total
    }
}
