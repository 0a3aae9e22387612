import Foundation
import Model
import Text

/// One text to classify: a sentence, or a sentence pair for pair tasks.
public struct PredictionInput: Equatable, Sendable {
    public var text: String
    public var pair: String?

    public init(text: String, pair: String? = nil) {
        self.text = text
        self.pair = pair
    }
}

/// The model's answer for one input: the predicted label name and class probabilities, or the score (STS-B),
/// and the raw logits.
public struct Prediction: Equatable, Sendable {
    /// nil for regression.
    public let label: String?
    /// Softmax of the logits; empty for regression.
    public let probabilities: [Double]
    /// The regression output; nil for classification.
    public let score: Double?
    public let logits: [Float]
}

/// Why a prediction request was refused; `field` names the offending input (`inputs[3]`).
public enum PredictionError: Error, Equatable, Sendable {
    case noInputs
    case tooManyInputs(count: Int, limit: Int)
    case wrongArity(field: String, count: Int)
    /// A sentence-pair task given one text, or a one-sentence task given two.
    case wrongTextCount(field: String, count: Int, task: GLUETask)
    case textTooLong(field: String, characters: Int, limit: Int)

    public var field: String {
        switch self {
        case .noInputs, .tooManyInputs: return "inputs"
        case let .wrongArity(field, _), let .wrongTextCount(field, _, _), let .textTooLong(field, _, _): return field
        }
    }

    public var code: String {
        switch self {
        case .noInputs: return "no_inputs"
        case .tooManyInputs: return "too_many_inputs"
        case .wrongArity, .wrongTextCount: return "invalid_input"
        case .textTooLong: return "text_too_long"
        }
    }
}

extension PredictionError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .noInputs: return "inputs: expected at least one input"
        case let .tooManyInputs(count, limit): return "inputs: \(count) inputs, at most \(limit) per request"
        case let .wrongArity(field, count): return "\(field): expected 1 or 2 texts, got \(count)"
        case let .wrongTextCount(field, count, task):
            let expected = task.textColumns.count
            return "\(field): \(task.rawValue) takes \(expected == 1 ? "one text" : "a pair of texts"), got \(count)"
        case let .textTooLong(field, characters, limit):
            return "\(field): \(characters) characters, at most \(limit) (longer texts are truncated to the model's "
                + "max_seq_length tokens anyway)"
        }
    }
}

/// Runs a trained job's model on new texts exactly as evaluation scores its dev set: the job's tokenizer and
/// max_seq_length, then the same `Evaluator` (inputs sorted by length, token-budget batches, no dropout).
/// Thread-safe: calls on one predictor take turns on its model.
public final class Predictor: @unchecked Sendable {
    public struct Limits: Sendable {
        public var maxInputs: Int
        /// Per text, in characters; a bound on tokenising work, well above what max_seq_length keeps.
        public var maxTextCharacters: Int
        public init(maxInputs: Int = 256, maxTextCharacters: Int = 10_000) {
            self.maxInputs = maxInputs
            self.maxTextCharacters = maxTextCharacters
        }
    }

    public let checkpoint: JobCheckpoint
    public let limits: Limits
    private let evaluator: Evaluator
    private let tokenizer: BertTokenizer
    private let lock = NSLock()

    public init(checkpoint: JobCheckpoint, backbone: Backbone, tokenizer: BertTokenizer, limits: Limits = Limits()) throws {
        let hp = checkpoint.spec.hyperparameters
        self.checkpoint = checkpoint
        self.limits = limits
        self.tokenizer = tokenizer
        // The trained model only holds the parameters; the evaluator's twin does the work.
        let trained = try checkpoint.model(backbone: backbone, maxBatch: 1)
        evaluator = try Evaluator(trained: trained, task: checkpoint.task, job: hp, padId: tokenizer.padId)
    }

    /// Bytes this predictor holds beyond the shared backbone: its owned tensors and its activation buffers.
    public var memoryBytes: Int {
        let model = evaluator.model
        return model.activationBytes + model.parameters.count * MemoryLayout<Float>.stride
    }

    /// Checks the request's shape and sizes; errors name the field (`inputs[2]`).
    public func validate(_ inputs: [PredictionInput]) throws {
        guard !inputs.isEmpty else { throw PredictionError.noInputs }
        guard inputs.count <= limits.maxInputs else {
            throw PredictionError.tooManyInputs(count: inputs.count, limit: limits.maxInputs)
        }
        for (index, input) in inputs.enumerated() { try validate(input, field: "inputs[\(index)]") }
    }

    /// Checks one input's text count and lengths; errors name it as `field`.
    public func validate(_ input: PredictionInput, field: String) throws {
        // A text count the model was not trained on still gives a plausible label: refuse it.
        let count = input.pair == nil ? 1 : 2
        guard count == checkpoint.task.textColumns.count else {
            throw PredictionError.wrongTextCount(field: field, count: count, task: checkpoint.task)
        }
        for (part, text) in [input.text, input.pair].enumerated() {
            guard let text else { continue }
            let characters = text.unicodeScalars.count
            guard characters <= limits.maxTextCharacters else {
                throw PredictionError.textTooLong(field: "\(field)[\(part)]", characters: characters,
                                                  limit: limits.maxTextCharacters)
            }
        }
    }

    public func predict(_ inputs: [PredictionInput]) throws -> [Prediction] {
        try validate(inputs)
        let hp = checkpoint.spec.hyperparameters
        let placeholder: Label = checkpoint.task.isRegression ? .score(0) : .category(0)
        let split = EncodedSplit(encodings: inputs.map { tokenizer.encode($0.text, $0.pair, maxLength: hp.maxSeqLength) },
                                 labels: Array(repeating: placeholder, count: inputs.count))
        let labels = checkpoint.task.numberOfLabels
        lock.lock()
        defer { lock.unlock() }
        let flat: [Float]
        do {
            flat = try evaluator.logits(split, plan: EvaluationPlan(lengths: split.lengths, job: hp))
        } catch let error as ModelError {
            throw TrainingError.model(code: error.code, message: error.description, step: nil)
        }
        return (0..<inputs.count).map { prediction(Array(flat[$0 * labels..<($0 + 1) * labels])) }
    }

    private func prediction(_ logits: [Float]) -> Prediction {
        guard case let .categories(_, names) = checkpoint.task.labelKind else {
            return Prediction(label: nil, probabilities: [], score: Double(logits[0]), logits: logits)
        }
        let top = logits.map(Double.init).max()!
        let exps = logits.map { Foundation.exp(Double($0) - top) }
        let sum = exps.reduce(0, +)
        // The first of equal maxima, as evaluation's argmax.
        var best = 0
        for label in 1..<logits.count where logits[label] > logits[best] { best = label }
        return Prediction(label: names[best], probabilities: exps.map { $0 / sum }, score: nil, logits: logits)
    }
}

extension EncodedSplit {
    /// Texts already encoded, with placeholder labels (prediction has none).
    init(encodings: [Encoding], labels: [Label]) {
        self.encodings = encodings
        self.labels = labels
    }
}
