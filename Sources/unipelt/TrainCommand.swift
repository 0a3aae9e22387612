import Dispatch
import Foundation
import JobStore
import Model
import Service
import Tensor
import Text
import Training

/// `unipelt train`: one job in the foreground, no server. Writes `metrics.csv`, `gates.csv`, `result.json` and the
/// `best`/`last` checkpoints into `--out`; `--resume` continues from `--out`/last.safetensors.
enum TrainCommand: StatusCommand {
    static let name = "train"
    static let summary = "train one job in the foreground (no server)"
    static let usage = """
    usage: unipelt train --task TASK --k K --seed N --method METHOD [options]
    \(SummarizeCommand.usage)

      --task TASK        \(GLUETask.allNames.joined(separator: " | "))
      --k K              training examples (positive integer, or "all")
      --seed N           data shuffle, initialisation and dropout seed
      --method METHOD    \(Method.allCases.map(\.rawValue).joined(separator: " | "))
      --model DIR        HF model folder (config.json, model.safetensors, vocab.txt) [var/models/minilm-l6]
      --glue DIR         GLUE data folder [var/glue]
      --out DIR          output folder [var/runs/<task>-k<K>-s<seed>-<method>]
      --set KEY=VALUE    override a hyperparameter (repeatable); --set help lists them
      --threads N        compute threads [1]
      --resume           continue from <out>/last.safetensors when it exists
      --quiet            no progress line
    """

    struct Options {
        var task: GLUETask
        var size: TrainingSize
        var seed: Int
        var method: Method
        var modelDirectory = "var/models/minilm-l6"
        var glueDirectory = "var/glue"
        var outputDirectory: String
        var settings: [(name: String, value: String)] = []
        var threads = 1
        var resume = false
        var quiet = false
    }

    /// A usage error: the message is printed with the usage text and the process exits with status 2.
    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    static func exitStatus(_ arguments: [String]) -> Int32 {
        do {
            if arguments.isEmpty { throw UsageError(description: "missing arguments") }
            if arguments.first == "--summarize" {
                print(try SummarizeCommand.run(Array(arguments.dropFirst())), terminator: "")
                return 0
            }
            if zip(arguments, arguments.dropFirst()).contains(where: { $0 == "--set" && $1 == "help" }) {
                print(hyperparameterHelp())
                return 0
            }
            let options = try parse(arguments)
            return try train(options)
        } catch let error as UsageError {
            FileHandle.standardError.write("unipelt train: \(error)\n\n\(usage)\n".data(using: .utf8)!)
            return 2
        } catch {
            FileHandle.standardError.write("unipelt train: \(error)\n".data(using: .utf8)!)
            return 1
        }
    }

    static func parse(_ arguments: [String]) throws -> Options {
        var values: [String: String] = [:]
        var settings: [(name: String, value: String)] = []
        var flags = Set<String>()
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "--resume", "--quiet":
                flags.insert(argument)
                index += 1
                continue
            case "--task", "--k", "--seed", "--method", "--model", "--glue", "--out", "--set", "--threads":
                guard index + 1 < arguments.count else { throw UsageError(description: "\(argument) needs a value") }
                let value = arguments[index + 1]
                if argument == "--set" {
                    guard let equals = value.firstIndex(of: "=") else {
                        throw UsageError(description: "--set takes KEY=VALUE, got '\(value)'")
                    }
                    let name = String(value[..<equals])
                    guard HyperparameterTable.names.contains(name) else {
                        throw UsageError(description: "unknown hyperparameter '\(name)'; allowed keys: "
                                         + HyperparameterTable.names.joined(separator: ", "))
                    }
                    settings.append((name, String(value[value.index(after: equals)...])))
                } else {
                    values[argument] = value
                }
                index += 2
            default:
                throw UsageError(description: "unknown argument '\(argument)'")
            }
        }
        for required in ["--task", "--k", "--seed", "--method"] where values[required] == nil {
            throw UsageError(description: "missing \(required)")
        }
        guard let task = GLUETask(rawValue: values["--task"]!) else {
            throw UsageError(description: "unknown task '\(values["--task"]!)'; expected one of "
                             + GLUETask.allNames.joined(separator: ", "))
        }
        guard let method = Method(rawValue: values["--method"]!) else {
            throw UsageError(description: "unknown method '\(values["--method"]!)'; expected one of "
                             + Method.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let size: TrainingSize
        if values["--k"] == "all" {
            size = .all
        } else if let k = Int(values["--k"]!), k > 0 {
            size = .k(k)
        } else {
            throw UsageError(description: "--k must be a positive integer or \"all\", got '\(values["--k"]!)'")
        }
        guard let seed = Int(values["--seed"]!), seed >= 0 else {
            throw UsageError(description: "--seed must be a non-negative integer, got '\(values["--seed"]!)'")
        }
        let defaultOut = "var/runs/\(task.rawValue)-k\(size)-s\(seed)-\(method.rawValue)"
        var options = Options(task: task, size: size, seed: seed, method: method,
                              outputDirectory: values["--out"] ?? defaultOut)
        if let model = values["--model"] { options.modelDirectory = model }
        if let glue = values["--glue"] { options.glueDirectory = glue }
        if let threads = values["--threads"] {
            guard let count = Int(threads), (1...256).contains(count) else {
                throw UsageError(description: "--threads must be an integer from 1 to 256, got '\(threads)'")
            }
            options.threads = count
        }
        options.settings = settings
        options.resume = flags.contains("--resume")
        options.quiet = flags.contains("--quiet")
        return options
    }

    static func hyperparameterHelp() -> String {
        HyperparameterTable.all.map { "\($0.name): \($0.kind); default \($0.defaultDescription). \($0.summary)" }
            .joined(separator: "\n")
    }
}

extension TrainCommand {
    static func train(_ options: Options) throws -> Int32 {
        // A folder that holds a run is continued only when asked: a fresh run would overwrite its checkpoints,
        // curves and result (a second run that differs only in --set would otherwise land on the first).
        if !options.resume, let found = ["result.json", "last.safetensors", "best.safetensors"]
            .first(where: { FileManager.default.fileExists(atPath: (options.outputDirectory as NSString).appendingPathComponent($0)) }) {
            throw UsageError(description: "\(options.outputDirectory) already holds a run (\(found)): pass --resume to "
                                 + "continue it, or --out another folder")
        }
        let hyperparameters = try Hyperparameters(method: options.method.rawValue, settings: options.settings)
        let k: Int? = { if case let .k(k) = options.size { return k } else { return nil } }()
        let spec = TrainingSpec(task: options.task.rawValue, k: k, seed: options.seed, method: options.method.rawValue,
                                model: options.modelDirectory, hyperparameters: hyperparameters)
        for file in ["config.json", "model.safetensors", "vocab.txt"] {
            let path = (options.modelDirectory as NSString).appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: path) else { throw TrainingError.missingData(path: path) }
        }
        let backbone = try Backbone.load(directory: options.modelDirectory)
        let tokenizer = try BertTokenizer(vocabularyURL: URL(fileURLWithPath: options.modelDirectory)
            .appendingPathComponent("vocab.txt"))
        let trainer = try Trainer(spec: spec, backbone: backbone, tokenizer: tokenizer,
                                  glueDirectory: options.glueDirectory, checkpointDirectory: options.outputDirectory)
        let progress = ProgressLine(quiet: options.quiet, metric: options.task.primaryMetric.rawValue)
        trainer.model.threads = options.threads
        trainer.observer = progress

        // Ctrl-C / SIGTERM: checkpoint at the current step, then stop; `--resume` continues from there.
        var signalSources: [DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { trainer.control.requestStop(StopRequest.suspend) }
            source.resume()
            signalSources.append(source)
        }
        defer { signalSources.forEach { $0.cancel() } }

        let lastPath = trainer.checkpointPath("last")!
        let resume = options.resume && FileManager.default.fileExists(atPath: lastPath) ? lastPath : nil
        let started = Date()
        let outcome = try trainer.run(resumingFrom: resume)
        try RunFiles.write(trainer: trainer, outcome: outcome, seconds: Date().timeIntervalSince(started),
                           to: options.outputDirectory)
        switch outcome {
        case let .finished(result):
            print(String(format: "%@ %@ k=%@ seed %d: test %@ %.4f (best dev %.4f at step %d, %d steps, %.0f s) → %@",
                         result.task, result.method, String(describing: options.size), result.seed, result.metric,
                         result.testMetric, result.bestDevMetric, result.bestStep, result.stepsRun,
                         Date().timeIntervalSince(started), options.outputDirectory))
            return 0
        case let .stopped(_, step):
            print("stopped at step \(step); continue with --resume (checkpoint \(lastPath))")
            return 130
        }
    }
}

/// The live progress line on standard error: step, epoch, loss, best dev metric and an ETA from the mean step
/// time (an upper bound: early stopping may end the run sooner).
final class ProgressLine: TrainingObserver {
    let quiet: Bool
    let metric: String
    private var bestDev: Double?
    private var firstStep: (step: Int, time: Date)?

    init(quiet: Bool, metric: String) {
        self.quiet = quiet
        self.metric = metric
    }

    func trainingDidEmit(_ event: TrainingEvent) {
        guard !quiet else { return }
        switch event {
        case let .step(record):
            let now = Date()
            if firstStep == nil { firstStep = (record.step, now) }
            let done = record.step - firstStep!.step
            let perStep = done > 0 ? now.timeIntervalSince(firstStep!.time) / Double(done) : 0
            let eta = Self.duration(perStep * Double(record.totalSteps - record.step))
            let best = bestDev.map { String(format: "%.4f", $0) } ?? "-"
            write(String(format: "\rstep %d/%d  epoch %d  loss %.4f  lr %.2e  %.0f ex/s  best dev %@ %@  eta %@ ",
                         record.step, record.totalSteps, record.epoch + 1, record.loss, record.learningRate,
                         record.examplesPerSecond, metric, best, eta))
        case let .evaluation(record):
            if record.isBest { bestDev = record.devMetric }
            let test = record.testMetric.map { String(format: ", test %.4f", $0) } ?? ""
            write(String(format: "\revaluation at step %d (epoch %d): dev %@ %.4f%@, dev loss %.4f%@\n",
                         record.step, record.epoch, metric, record.devMetric, test, record.devLoss,
                         record.isBest ? "  (best)" : ""))
        case let .checkpoint(record) where record.reason == .periodic:
            write("\r\(record.summary)\n")
        case .failed:
            write("\n")  // the error itself is printed by the command
        case .checkpoint, .finished, .stopped:
            break
        }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(text.data(using: .utf8)!)
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 3600 ? "\(total / 3600)h\(total % 3600 / 60)m" : "\(total / 60)m\(String(format: "%02d", total % 60))s"
    }
}
