import Foundation
import Text

/// `unipelt split`: prints which train rows a job's K-shot split draws, so `Tests/Scripts/split_parity.py` can
/// compare them with numpy's permutation for every task and seed.
enum SplitCommand: CLICommand {
    static let name = "split"
    static let summary = "print the train/dev rows a K-shot split draws"
    static let usage = """
    usage: unipelt split (--task <task> | --train-size <n>) [--k <n|all>] [--seeds <s1,s2,...>]
                         [--split official|splitmix] [--glue <dir>]

    Writes one JSON line per seed: {"task","train_size","seed","split","train_rows","dev_rows"}, the 0-based
    indices into the task's parsed train file of the K training and the 1000 dev examples. With --k all,
    train_rows is the whole shuffled train split and dev_rows is empty. --train-size draws for a train file of
    n rows without reading one (e.g. the full MNLI, QNLI or QQP train split); task is then null.

    options:
      --task <task>       GLUE task (sst2, mrpc, cola, rte, qnli, stsb, mnli, qqp)
      --train-size <n>    instead of a task: the number of train rows
      --k <n|all>         training examples (default 100)
      --seeds <list>      comma-separated seeds (default 1)
      --split <kind>      official (default) or splitmix
      --glue <dir>        GLUE data folder (default var/glue)
    """

    struct InputError: Error, CustomStringConvertible {
        let description: String
    }

    static func run(_ arguments: [String]) throws {
        var task: GLUETask?
        var trainSize: Int?
        var size = TrainingSize.k(100)
        var seeds: [UInt64] = [1]
        var kind = SplitKind.official
        var glue = "var/glue"
        var remaining = arguments[...]
        while let option = remaining.popFirst() {
            guard let value = remaining.popFirst() else { throw InputError(description: "\(option) needs a value") }
            switch option {
            case "--task":
                guard let named = GLUETask(rawValue: value) else {
                    throw InputError(description: "--task must be one of \(GLUETask.allNames.joined(separator: ", "))")
                }
                task = named
            case "--train-size":
                guard let n = Int(value), n >= 0 else { throw InputError(description: "--train-size must be a count") }
                trainSize = n
            case "--k":
                if value == "all" {
                    size = .all
                } else {
                    guard let k = Int(value) else { throw InputError(description: "--k must be an integer or all") }
                    size = .k(k)
                }
            case "--seeds":
                let parsed = value.split(separator: ",").map { UInt64($0) }
                guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil }) else {
                    throw InputError(description: "--seeds must be comma-separated non-negative integers")
                }
                seeds = parsed.map { $0! }
            case "--split":
                guard let named = SplitKind(rawValue: value) else {
                    throw InputError(description: "--split must be official or splitmix")
                }
                kind = named
            case "--glue":
                glue = value
            default:
                throw InputError(description: "unknown option '\(option)'")
            }
        }
        guard (task == nil) != (trainSize == nil) else {
            throw InputError(description: "give either --task or --train-size")
        }
        let rows: [GLUEExample]
        if let task {
            rows = try GLUEDataset.load(task: task, glueDirectory: URL(fileURLWithPath: glue)).train.examples
        } else {
            rows = (0..<trainSize!).map { GLUEExample(text: "", pair: nil, label: .category(0), line: $0 + 1) }
        }
        for seed in seeds {
            let split = try KShotSplit.make(task: task ?? .rte, trainRows: rows, testRows: [], size: size, seed: seed,
                                            kind: kind)
            let line: [String: Any] = ["task": task?.rawValue ?? NSNull(), "train_size": rows.count,
                                       "seed": seed, "split": kind.rawValue,
                                       "train_rows": split.trainRows, "dev_rows": split.devRows]
            let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        }
    }
}
