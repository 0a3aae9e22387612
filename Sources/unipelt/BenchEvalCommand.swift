import Foundation
import Model
import Tensor
import Text
import Training

/// `unipelt bench eval`: inference throughput of the evaluation path over a task's real dev split (the K-shot
/// protocol's 1000 dev examples), per method, against the SGEMM floor and against the same twin fed in batches of
/// the training batch size, both measured in this process.
enum BenchEvalCommand: CLICommand {
    static let name = "bench eval"
    static let summary = "time evaluation (inference) over a task's dev split against the SGEMM floor"
    static let usage = """
    usage: unipelt bench eval [--task rte] [--method M|all] [--threads N] [--model DIR] [--glue DIR] [--repeats 3] [--tokens N]

      --task T      GLUE task whose dev split (K=100, seed 1) is scored [rte]
      --method M    one of \(Method.allCases.map(\.rawValue).joined(separator: ", ")), or all [unipelt-apl]
      --threads N   threads of the model [all cores]
      --repeats N   timed passes per method after one warm-up; the fastest counts [3]
      --tokens N    padded tokens per batch of the budget plan [\(Evaluator.tokenBudget), what evaluation uses]
    """

    struct Options {
        var task = GLUETask.rte
        var methods = [Method.unipeltAPL]
        var threads = ProcessInfo.processInfo.activeProcessorCount
        var model = "var/models/minilm-l6"
        var glue = "var/glue"
        var repeats = 3
        var tokenBudget = Evaluator.tokenBudget
    }

    static func parse(_ arguments: [String]) throws -> Options {
        var options = Options()
        var rest = arguments[...]
        while let option = rest.popFirst() {
            guard let value = rest.popFirst() else { throw BenchStepCommand.ArgumentError.missingValue(option) }
            let invalid = BenchStepCommand.ArgumentError.invalidValue(option: option, value: value)
            func positive() throws -> Int {
                guard let n = Int(value), n > 0 else { throw invalid }
                return n
            }
            switch option {
            case "--task":
                guard let task = GLUETask(rawValue: value) else { throw invalid }
                options.task = task
            case "--method":
                if value == "all" { options.methods = Method.allCases } else {
                    guard let m = Method(rawValue: value) else { throw invalid }
                    options.methods = [m]
                }
            case "--threads": options.threads = try positive()
            case "--model": options.model = value
            case "--glue": options.glue = value
            case "--repeats": options.repeats = try positive()
            case "--tokens": options.tokenBudget = try positive()
            default: throw BenchStepCommand.ArgumentError.unknownOption(option)
            }
        }
        return options
    }

    static func run(_ arguments: [String]) throws {
        let options = try parse(arguments)
        let backbone = try Backbone.load(directory: options.model)
        let tokenizer = try BertTokenizer(vocabularyURL: URL(fileURLWithPath: options.model)
            .appendingPathComponent("vocab.txt"))
        let hyperparameters = try Hyperparameters(method: options.methods[0].rawValue)
        let data = try TrainingData.load(task: options.task, size: .k(100), seed: 1, split: hyperparameters.split,
                                         glueDirectory: options.glue,
                                         tokenizer: tokenizer, maxSeqLength: hyperparameters.maxSeqLength)
        let dev = data.dev
        let lengths = dev.lengths
        let lean = EvaluationPlan(lengths: lengths, padding: .dynamic, maxSeqLength: hyperparameters.maxSeqLength,
                                  tokenBudget: options.tokenBudget, maxBatch: Evaluator.maxBatch)
        let trainingSized = EvaluationPlan(lengths: lengths, padding: .dynamic,
                                           maxSeqLength: hyperparameters.maxSeqLength, tokenBudget: .max,
                                           maxBatch: .max, fixedBatchSize: hyperparameters.batchSize)
        let probe = SGEMMProbe.measure(threads: options.threads)
        print("backbone \(backbone.source), \(options.task.rawValue) dev split: \(dev.count) examples, "
              + "\(lengths.reduce(0, +)) tokens, \(options.threads) thread(s)")
        print(lean.batches.count, "batches of ≤", options.tokenBudget, "padded tokens, against",
              trainingSized.batches.count, "batches of", hyperparameters.batchSize)
        print(probe, "(OpenBLAS \(BLAS.coreName) kernels)")
        print("method               ex/s (budget)  ×floor   ex/s (batch \(hyperparameters.batchSize))  ×floor  budget/batch  twin MB")
        for method in options.methods {
            let model = try BertModel(backbone: backbone, pelt: .method(method, hiddenSize: backbone.config.hiddenSize),
                                      numLabels: options.task.numberOfLabels, maxBatch: hyperparameters.batchSize,
                                      maxSeqLen: hyperparameters.maxSeqLength, seed: 1)
            model.threads = options.threads
            let evaluator = try Evaluator(trained: model, task: options.task, plans: [lean, trainingSized],
                                          padId: data.padId, maxSeqLength: hyperparameters.maxSeqLength,
                                          padding: .dynamic)
            // The two plans' passes alternate (after one warm-up pass each), so a drift in the machine's speed
            // during the run does not favour the plan measured second.
            var best = [Double.infinity, Double.infinity]
            for pass in 0...options.repeats {
                for (index, plan) in [lean, trainingSized].enumerated() {
                    let start = BenchStepCommand.monotonicSeconds(), cpuStart = BenchStepCommand.processCPUSeconds()
                    _ = try evaluator.logits(dev, plan: plan)
                    // One thread: CPU time, immune to other processes as the probe is; else wall time.
                    let seconds = probe.threadCPUTime ? BenchStepCommand.processCPUSeconds() - cpuStart
                                                      : BenchStepCommand.monotonicSeconds() - start
                    if pass > 0 { best[index] = min(best[index], seconds) }
                }
            }
            func rates(_ plan: EvaluationPlan, _ seconds: Double) -> (examplesPerSecond: Double, timesFloor: Double) {
                let flops = plan.batches.reduce(0.0) { sum, range in
                    let longest = lengths[plan.order[range.upperBound - 1]]
                    return sum + model.inferenceFLOPs(batch: range.count, seqLen: longest)
                }
                return (Double(dev.count) / seconds, seconds / (flops / (probe.gflops * 1e9)))
            }
            let budget = rates(lean, best[0]), batched = rates(trainingSized, best[1])
            let name = method.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)
            print(name + String(format: " %13.1f  %6.2f  %17.1f  %6.2f  %12.2f  %7.0f", budget.examplesPerSecond,
                                budget.timesFloor, batched.examplesPerSecond, batched.timesFloor,
                                budget.examplesPerSecond / batched.examplesPerSecond,
                                Double(evaluator.model.activationBytes) / 1e6))
        }
    }
}
