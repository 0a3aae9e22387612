import Model
import Text

/// One split's scores: the task metrics, the mean loss per example, and (dev only) the gate means.
struct SplitEvaluation {
    let report: MetricReport
    let loss: Double
    let gates: [GateMean]
}

/// The order and batches in which a split is scored, fixed once per job: examples sorted by length (so dynamic
/// batches pad little) and cut into batches of at most `tokenBudget` padded tokens and `maxBatch` examples.
public struct EvaluationPlan: Sendable {
    /// Example indices in scoring order.
    public let order: [Int]
    /// Ranges of `order`, one per batch.
    public let batches: [Range<Int>]
    /// The padded length of the longest batch, and the most examples and tokens in one batch.
    public let longest: Int
    public let largestBatch: Int
    public let largestTokens: Int

    /// `fixedBatchSize` cuts every that many examples instead (the token budget is then ignored): predictions
    /// under `gate_pooling: unmasked` depend on padding, so such jobs keep the training batch size.
    public init(lengths: [Int], padding: Padding, maxSeqLength: Int, tokenBudget: Int, maxBatch: Int,
                fixedBatchSize: Int? = nil) {
        order = lengths.indices.sorted { (lengths[$0], $0) < (lengths[$1], $1) }
        func padded(_ length: Int) -> Int { padding == .maxLength ? maxSeqLength : length }
        var batches: [Range<Int>] = []
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count {
                // Sorted ascending, so the candidate is the batch's longest example.
                let count = end - start + 1
                let fits = fixedBatchSize.map { count <= $0 }
                    ?? (count <= maxBatch && count * padded(lengths[order[end]]) <= tokenBudget)
                guard fits else { break }
                end += 1
            }
            batches.append(start..<end)
            start = end
        }
        self.batches = batches
        let orderedLengths = order.map { padded(lengths[$0]) }
        longest = orderedLengths.last ?? 1
        largestBatch = batches.map(\.count).max() ?? 1
        largestTokens = batches.map { $0.count * orderedLengths[$0.upperBound - 1] }.max() ?? 1
    }

    /// How a job scores examples of these lengths: the evaluator's token budget, except under
    /// `gate_pooling: unmasked`, whose predictions depend on padding, where the training batch size is kept.
    public init(lengths: [Int], job hp: Hyperparameters) {
        self.init(lengths: lengths, padding: hp.padding, maxSeqLength: hp.maxSeqLength,
                  tokenBudget: Evaluator.tokenBudget, maxBatch: Evaluator.maxBatch,
                  fixedBatchSize: Self.fixedBatchSize(hp))
    }

    /// The training batch size under `gate_pooling: unmasked` (predictions depend on padding there), else nil.
    static func fixedBatchSize(_ hp: Hyperparameters) -> Int? {
        hp.gatePooling == GatePooling.unmasked.rawValue ? hp.batchSize : nil
    }
}

/// Scores splits on an inference twin of the trained model (it reads the trained parameters in place, keeps no
/// activations for backward and does no dropout work), batch by batch along each split's `EvaluationPlan`.
/// Buffers are planned once for the largest batch of all plans and reused. Evaluation, prediction and the
/// inference benchmark all run through it.
public final class Evaluator {
    /// Padded tokens per evaluation batch: large enough that every product has many rows, small enough that a
    /// batch's activations stay within a few tens of MB.
    public static let tokenBudget = 4096
    public static let maxBatch = 256

    public let task: GLUETask
    public let model: BertModel
    /// Whose thread count the twin follows (the service sets it after the trainer is built).
    private let trained: BertModel
    private var assembler: BatchAssembler

    /// Buffers for the largest batch of `plans`.
    public convenience init(trained: BertModel, task: GLUETask, plans: [EvaluationPlan], padId: Int,
                            maxSeqLength: Int, padding: Padding) throws {
        try self.init(trained: trained, task: task, maxBatch: plans.map(\.largestBatch).max() ?? 1,
                      longest: plans.map(\.longest).max() ?? 1, maxTokens: plans.map(\.largestTokens).max() ?? 1,
                      padId: padId, maxSeqLength: maxSeqLength, padding: padding)
    }

    /// Buffers for any plan made with `EvaluationPlan(lengths:job:)` (prediction, whose inputs are not known
    /// in advance).
    public convenience init(trained: BertModel, task: GLUETask, job hp: Hyperparameters, padId: Int) throws {
        let fixed = EvaluationPlan.fixedBatchSize(hp)
        try self.init(trained: trained, task: task, maxBatch: fixed ?? Evaluator.maxBatch, longest: hp.maxSeqLength,
                      maxTokens: fixed.map { $0 * hp.maxSeqLength } ?? Evaluator.tokenBudget,
                      padId: padId, maxSeqLength: hp.maxSeqLength, padding: hp.padding)
    }

    private init(trained: BertModel, task: GLUETask, maxBatch: Int, longest: Int, maxTokens: Int, padId: Int,
                 maxSeqLength: Int, padding: Padding) throws {
        self.task = task
        self.trained = trained
        model = try BertModel(inferenceOf: trained, maxBatch: maxBatch, maxSeqLen: longest,
                              maxTokens: max(maxTokens, longest))
        assembler = BatchAssembler(maxBatch: maxBatch, maxSeqLength: maxSeqLength, padding: padding, padId: padId,
                                   isRegression: task.isRegression)
    }

    /// The logits of every example of `split`, row i for example i, (count, labels) row-major.
    public func logits(_ split: EncodedSplit, plan: EvaluationPlan) throws -> [Float] {
        let labels = model.numLabels
        var out = [Float](repeating: 0, count: split.count * labels)
        try run(split, plan: plan) { indices, logits, _ in
            for (row, index) in indices.enumerated() {
                for label in 0..<labels { out[index * labels + label] = logits[row * labels + label] }
            }
        }
        return out
    }

    /// Runs `split` along `plan` without dropout; `beforeBatch` runs before every batch (the trainer's stop
    /// check). The metrics do not depend on the plan except through padding under `gate_pooling: unmasked`.
    func evaluate(_ split: EncodedSplit, plan: EvaluationPlan, collectGates: Bool,
                  beforeBatch: () throws -> Void = {}) throws -> SplitEvaluation {
        var classes: [Int] = []
        var scores: [Double] = []
        var lossSum = 0.0
        var gateSums: [GateSiteKey: Double] = [:]
        try run(split, plan: plan, beforeBatch: beforeBatch) { indices, logits, loss in
            lossSum += Double(loss) * Double(indices.count)
            if task.isRegression {
                scores.append(contentsOf: logits.map(Double.init))
            } else {
                let labels = task.numberOfLabels
                for row in 0..<indices.count {
                    // The first of equal maxima, as torch.argmax.
                    var best = 0
                    for label in 1..<labels where logits[row * labels + label] > logits[row * labels + best] {
                        best = label
                    }
                    classes.append(best)
                }
            }
            if collectGates {
                for gate in model.gateValues {
                    gateSums[GateSiteKey(layer: gate.layer, site: gate.site), default: 0]
                        += gate.perSample.reduce(0.0) { $0 + Double($1) }
                }
            }
        }
        let labels = plan.order.map { split.labels[$0] }
        let report = task.isRegression
            ? MetricReport.regression(task: task, predictions: scores, labels: labels.map(\.value))
            : MetricReport.classification(task: task, predictions: classes, labels: labels.map { $0.category! })
        let gates = gateSums.keys.sorted().map {
            GateMean(layer: $0.layer, submodule: $0.site, mean: gateSums[$0]! / Double(plan.order.count))
        }
        return SplitEvaluation(report: report, loss: lossSum / Double(plan.order.count), gates: gates)
    }

    /// The forward pass of every batch of `plan`, each followed by `body(indices, logits, mean loss)`.
    private func run(_ split: EncodedSplit, plan: EvaluationPlan, beforeBatch: () throws -> Void = {},
                     _ body: (ArraySlice<Int>, [Float], Float) -> Void) throws {
        model.threads = trained.threads
        for range in plan.batches {
            try beforeBatch()
            let indices = plan.order[range]
            let loss = try model.forward(try assembler.assemble(split, indices), training: false)
            body(indices, model.logits, loss)
        }
    }
}

/// A gate's place, ordered by layer then by the model's site order (A, P, Lq, Lv).
struct GateSiteKey: Hashable, Comparable {
    let layer: Int
    let site: GateSite

    static func < (a: GateSiteKey, b: GateSiteKey) -> Bool {
        let order = GateSite.allCases
        return (a.layer, order.firstIndex(of: a.site)!) < (b.layer, order.firstIndex(of: b.site)!)
    }
}
