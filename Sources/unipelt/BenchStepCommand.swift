import Foundation
import Model
import Tensor
import Training

/// `unipelt bench step`: times full training steps (forward, backward, AdamW) of each method on one batch
/// and relates them to this machine's SGEMM rate measured in the same process.
enum BenchStepCommand: CLICommand {
    static let name = "bench step"
    static let summary = "time training steps per method against the SGEMM floor"
    static let usage = """
    usage: unipelt bench step [--model DIR] [--method M|all] [--batch 16] [--seq 128] [--threads N] [--steps 10]

      --model DIR   Hugging Face BERT directory (default var/models/minilm-l6; random MiniLM-L6 weights if absent)
      --method M    one of \(Method.allCases.map(\.rawValue).joined(separator: ", ")), or all (default)
    """

    struct Options {
        var model = "var/models/minilm-l6"
        var methods = Method.allCases
        var batch = 16
        var seqLen = 128
        var threads = ProcessInfo.processInfo.activeProcessorCount
        var steps = 10
    }

    enum ArgumentError: Error, CustomStringConvertible {
        case missingValue(String)
        case invalidValue(option: String, value: String)
        case unknownOption(String)

        var description: String {
            switch self {
            case let .missingValue(option): return "option \(option) needs a value"
            case let .invalidValue(option, value): return "option \(option): invalid value '\(value)'"
            case let .unknownOption(option): return "unknown option '\(option)'"
            }
        }
    }

    static func parse(_ arguments: [String]) throws -> Options {
        var options = Options()
        var rest = arguments[...]
        while let option = rest.popFirst() {
            guard let value = rest.popFirst() else { throw ArgumentError.missingValue(option) }
            func positive() throws -> Int {
                guard let n = Int(value), n > 0 else { throw ArgumentError.invalidValue(option: option, value: value) }
                return n
            }
            switch option {
            case "--model": options.model = value
            case "--method":
                if value == "all" { options.methods = Method.allCases } else {
                    guard let m = Method(rawValue: value) else { throw ArgumentError.invalidValue(option: option, value: value) }
                    options.methods = [m]
                }
            case "--batch": options.batch = try positive()
            case "--seq": options.seqLen = try positive()
            case "--threads": options.threads = try positive()
            case "--steps": options.steps = try positive()
            default: throw ArgumentError.unknownOption(option)
            }
        }
        return options
    }

    static func run(_ arguments: [String]) throws {
        let options = try parse(arguments)
        let backbone: Backbone
        if FileManager.default.fileExists(atPath: options.model + "/config.json") {
            backbone = try Backbone.load(directory: options.model)
        } else {
            print("note: \(options.model) not found; using random MiniLM-L6-shaped weights")
            backbone = Backbone.random(config: .miniLML6, seed: 1)
        }
        let c = backbone.config
        let probe = SGEMMProbe.measure(threads: options.threads)
        print("backbone \(backbone.source): \(c.numLayers) layers, hidden \(c.hiddenSize), \(c.numHeads) heads, intermediate \(c.intermediateSize)")
        print("batch \(options.batch) × \(options.seqLen) tokens, \(options.threads) thread(s), \(options.steps) timed steps after 2 warm-up")
        print(probe, "(OpenBLAS \(BLAS.coreName) kernels)")
        let batch = try syntheticBatch(size: options.batch, seqLen: options.seqLen, config: c)
        // CPU ms is the process's CPU time per step: with one thread it is immune to other processes' load.
        print("method               trainable   ms/step (min)   CPU ms  GFLOP/step  GFLOP/s  ×floor  peak RSS")
        for method in options.methods {
            let model = try BertModel(backbone: backbone, pelt: .method(method, hiddenSize: c.hiddenSize), numLabels: 2,
                                      maxBatch: options.batch, maxSeqLen: options.seqLen, seed: 1)
            model.threads = options.threads
            let optimizer = AdamW(parameters: model.parameters)
            var times: [Double] = [], cpuTimes: [Double] = []
            for step in 0..<(options.steps + 2) {
                let start = monotonicSeconds(), cpuStart = processCPUSeconds()
                model.parameters.zeroGradients()
                try model.forward(batch, training: true)
                model.backward()
                optimizer.step(learningRate: 1e-5)
                if step >= 2 {
                    times.append(monotonicSeconds() - start)
                    cpuTimes.append(processCPUSeconds() - cpuStart)
                }
            }
            times.sort()
            cpuTimes.sort()
            let median = times[times.count / 2]
            let flops = model.trainingStepFLOPs(batch: options.batch, seqLen: options.seqLen)
            let floor = flops / (probe.gflops * 1e9)
            // The one-thread probe is timed in CPU time (Tensor's SGEMMProbe), so the step is compared in CPU
            // time too; with more threads both are wall-clock.
            let compared = probe.threadCPUTime ? cpuTimes[cpuTimes.count / 2] : median
            let trainable = model.parameters.trainable.reduce(0) { $0 + $1.value.count }
            let name = method.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)
            print(name + String(format: " %10d   %7.1f (%6.1f)  %7.1f  %10.1f  %7.1f  %6.2f  %5.0f MB", trainable,
                                median * 1e3, times[0] * 1e3, cpuTimes[cpuTimes.count / 2] * 1e3, flops / 1e9,
                                flops / compared / 1e9, compared / floor, Double(peakResidentBytes()) / 1e6))
        }
    }

    /// All-real sentence pairs (first half type 0, second half type 1) with seeded random ids and labels.
    static func syntheticBatch(size: Int, seqLen: Int, config: BertConfig) throws -> Batch {
        var rng = RNG(seed: 42)
        let ids = (0..<(size * seqLen)).map { _ in Int32(1000 + Int(rng.next() % UInt64(config.vocabSize - 1000))) }
        let types = (0..<(size * seqLen)).map { Int32($0 % seqLen < seqLen / 2 ? 0 : 1) }
        let labels = (0..<size).map { _ in Int32(rng.next() % 2) }
        return try Batch(size: size, seqLen: seqLen, inputIds: ids, tokenTypeIds: types,
                         attentionMask: [Int32](repeating: 1, count: size * seqLen), labels: .classes(labels))
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// VmHWM from /proc/self/status (Linux), in bytes.
    static func peakResidentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else {
            return 0
        }
        return kb * 1024
    }
}
