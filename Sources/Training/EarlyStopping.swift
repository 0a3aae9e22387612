/// Tracks the best dev metric and the number of evaluations since it improved, as Hugging Face's Trainer:
/// an evaluation improves only if its metric is strictly greater than the best so far.
public struct EarlyStopping: Codable, Equatable, Sendable {
    /// 0 never stops.
    public let patience: Int
    public private(set) var best: Double?
    /// The step of the best evaluation.
    public private(set) var bestStep: Int?
    public private(set) var evaluationsWithoutImprovement = 0

    public init(patience: Int) {
        self.patience = patience
    }

    /// Records one evaluation; returns true when it is the new best. A NaN metric never beats a number (the
    /// metrics give 0, not NaN, for constant predictions; this guards the rule), but the first evaluation is
    /// always the best so far.
    public mutating func record(metric: Double, step: Int) -> Bool {
        if let best, !(metric > best || (best.isNaN && !metric.isNaN)) {
            evaluationsWithoutImprovement += 1
            return false
        }
        best = metric
        bestStep = step
        evaluationsWithoutImprovement = 0
        return true
    }

    public var shouldStop: Bool { patience > 0 && evaluationsWithoutImprovement >= patience }
}
