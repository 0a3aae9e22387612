import Foundation
@testable import Model
import Tensor
import Text
@testable import Training

/// A tiny random BERT over the real uncased vocabulary, and GLUE-shaped rows from Text's committed fixtures
/// (Tests/TextTests/Golden/glue: 40 train and 20 dev rows per task).
enum TrainingFixtures {
    static let textGolden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("TextTests/Golden")
    static var glueDirectory: String { textGolden.appendingPathComponent("glue").path }

    static let tokenizer: BertTokenizer = try! BertTokenizer(vocabularyURL: textGolden.appendingPathComponent("vocab.txt"))

    /// 2 layers, hidden 32, 4 heads; made once and shared read-only like the service's backbone. Weights are
    /// N(0, 1/fan_in) and embeddings N(0, 1), not BERT's N(0, 0.02): with BERT's init a random encoder maps every
    /// sentence to nearly the same [CLS] vector, and no method could fit the labels.
    static let backbone: Backbone = {
        let config = BertConfig(vocabSize: tokenizer.vocabulary.count, hiddenSize: 32, numLayers: 2, numHeads: 4,
                                intermediateSize: 64, maxPositions: 128)
        var rng = RNG(seed: 11, stream: .initialization)
        var tensors: [String: Tensor] = [:]
        for (name, shape) in ParameterLayout.backbone(config) {
            let tensor = Tensor(shape: Shape(shape))
            if name.hasSuffix("LayerNorm.weight") {
                tensor.fill(1)
            } else if !name.hasSuffix(".bias") {
                let std: Float = name.contains("embeddings") ? 1 : 1 / Float(shape[1]).squareRoot()
                rng.fillNormal(tensor.mutableData, tensor.count, std: std)
            }
            tensors[name] = tensor
        }
        let path = NSTemporaryDirectory() + "unipelt-training-backbone-\(getpid()).safetensors"
        try! Safetensors.write(tensors, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try! Backbone.load(config: config, weights: path)
    }()

    /// K train and `devSize` dev rows from the fixture's train file; the first `testSize` rows of its dev file are
    /// the test set (small splits keep the debug-build tests fast).
    static func data(_ task: GLUETask = .sst2, k: Int = 16, devSize: Int = 8, testSize: Int = 8, seed: Int = 1,
                     maxSeqLength: Int = 16, split kind: SplitKind = .official) throws -> TrainingData {
        TrainingData(task: task, split: try split(task, k: k, devSize: devSize, testSize: testSize, seed: seed, kind: kind),
                     tokenizer: tokenizer, maxSeqLength: maxSeqLength)
    }

    /// The raw examples behind `data`.
    static func split(_ task: GLUETask = .sst2, k: Int = 16, devSize: Int = 8, testSize: Int = 8,
                      seed: Int = 1, kind: SplitKind = .official) throws -> KShotSplit {
        let dataset = try GLUEDataset.load(task: task, glueDirectory: URL(fileURLWithPath: glueDirectory))
        return try KShotSplit.make(task: task, trainRows: dataset.train.examples,
                                   testRows: Array(dataset.validation.examples.prefix(testSize)),
                                   size: .k(k), seed: UInt64(seed), kind: kind, devSize: devSize)
    }

    static func spec(_ method: String = "unipelt-apl", task: GLUETask = .sst2, k: Int = 16, seed: Int = 1,
                     _ overrides: [String: HyperparameterValue] = [:]) throws -> TrainingSpec {
        var settings: [String: HyperparameterValue] = ["epochs": .integer(3), "batch_size": .integer(8),
                                                       "max_seq_length": .integer(16),
                                                       "learning_rate": .number(2e-2)]
        settings.merge(overrides) { $1 }
        return try TrainingSpec(task: task.rawValue, k: k, seed: seed, method: method, model: "tiny-random",
                                overrides: settings)
    }

    static func trainer(_ spec: TrainingSpec, checkpointDirectory: String? = nil,
                        control: TrainingControl = TrainingControl()) throws -> Trainer {
        let data = try data(GLUETask(rawValue: spec.task)!, k: spec.k!, seed: spec.seed,
                            maxSeqLength: spec.hyperparameters.maxSeqLength, split: spec.hyperparameters.split)
        return try Trainer(spec: spec, backbone: backbone, data: data, checkpointDirectory: checkpointDirectory,
                           control: control)
    }
}

/// Records every event; optionally flips a stop request at a given step.
final class EventRecorder: TrainingObserver {
    var events: [TrainingEvent] = []
    var stopAt: (step: Int, request: StopRequest, control: TrainingControl)?

    func trainingDidEmit(_ event: TrainingEvent) {
        events.append(event)
        if case let .step(record) = event, let stop = stopAt, record.step == stop.step {
            stop.control.requestStop(stop.request)
        }
    }

    var steps: [StepRecord] { events.compactMap { if case let .step(r) = $0 { return r } else { return nil } } }
    var evaluations: [EvaluationRecord] {
        events.compactMap { if case let .evaluation(r) = $0 { return r } else { return nil } }
    }
    var checkpoints: [CheckpointRecord] {
        events.compactMap { if case let .checkpoint(r) = $0 { return r } else { return nil } }
    }
}
