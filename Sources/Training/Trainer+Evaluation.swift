import Model
import Text

/// One split's scores: the task metrics, the mean loss per example, and (dev only) the gate means.
struct SplitEvaluation {
    let report: MetricReport
    let loss: Double
    let gates: [GateMean]
}

extension Trainer {
    /// Runs the model without dropout over `split` in `order`, batch by batch. Predictions do not depend on the
    /// order except through padding, and only under `gate_pooling: unmasked`.
    func evaluate(_ split: EncodedSplit, order: [Int], collectGates: Bool) throws -> SplitEvaluation {
        let batchSize = spec.hyperparameters.batchSize
        var classes: [Int] = []
        var scores: [Double] = []
        var lossSum = 0.0
        var gateSums: [GateSiteKey: Double] = [:]
        for start in stride(from: 0, to: order.count, by: batchSize) {
            try checkStopRequest()
            let indices = order[start..<min(start + batchSize, order.count)]
            let batch = try assembleEvaluationBatch(split, indices)
            lossSum += Double(try model.forward(batch, training: false)) * Double(indices.count)
            let logits = model.logits
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
        let labels = order.map { split.labels[$0] }
        let report = task.isRegression
            ? MetricReport.regression(task: task, predictions: scores, labels: labels.map(\.value))
            : MetricReport.classification(task: task, predictions: classes, labels: labels.map { $0.category! })
        let gates = gateSums.keys.sorted().map {
            GateMean(layer: $0.layer, submodule: $0.site.rawValue, mean: gateSums[$0]! / Double(order.count))
        }
        return SplitEvaluation(report: report, loss: lossSum / Double(order.count), gates: gates)
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
