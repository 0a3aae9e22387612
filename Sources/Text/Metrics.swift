import Foundation

/// The GLUE metrics, with the names HF's `glue` metric reports.
public enum Metric: String, CaseIterable, Codable, Sendable {
    case accuracy
    case f1
    case matthewsCorrelation = "matthews_correlation"
    case pearson
    case spearman = "spearmanr"
}

/// The metric functions, computed in Double as scikit-learn and SciPy do.
///
/// Undefined values are 0, never NaN: F1 with no positive prediction and no positive label is 0 (sklearn's
/// `zero_division` default), Matthews correlation with a constant prediction or label is 0 (sklearn), and Pearson
/// or Spearman with a constant input, where SciPy returns NaN, is 0 too, so that a score always compares and
/// serialises. Inputs must be non-empty and of equal length.
public enum Metrics {
    public static func accuracy(predictions: [Int], labels: [Int]) -> Double {
        checkShapes(predictions.count, labels.count)
        let correct = zip(predictions, labels).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
        return Double(correct) / Double(labels.count)
    }

    /// F1 of class 1 (sklearn `f1_score(average="binary")`): 2·TP / (2·TP + FP + FN).
    public static func f1(predictions: [Int], labels: [Int]) -> Double {
        checkShapes(predictions.count, labels.count)
        var truePositives = 0, falsePositives = 0, falseNegatives = 0
        for (predicted, actual) in zip(predictions, labels) {
            switch (predicted == 1, actual == 1) {
            case (true, true): truePositives += 1
            case (true, false): falsePositives += 1
            case (false, true): falseNegatives += 1
            case (false, false): break
            }
        }
        let denominator = 2 * truePositives + falsePositives + falseNegatives
        return denominator == 0 ? 0 : Double(2 * truePositives) / Double(denominator)
    }

    /// Matthews correlation, multiclass form of sklearn `matthews_corrcoef` (Gorodkin's R_K), from the marginals.
    public static func matthewsCorrelation(predictions: [Int], labels: [Int]) -> Double {
        checkShapes(predictions.count, labels.count)
        var predictedCounts: [Int: Double] = [:]
        var actualCounts: [Int: Double] = [:]
        var correct = 0.0
        for (predicted, actual) in zip(predictions, labels) {
            predictedCounts[predicted, default: 0] += 1
            actualCounts[actual, default: 0] += 1
            if predicted == actual { correct += 1 }
        }
        let samples = Double(labels.count)
        let predictedDotActual = predictedCounts.reduce(0.0) { $0 + $1.value * (actualCounts[$1.key] ?? 0) }
        let predictedSquares = predictedCounts.values.reduce(0.0) { $0 + $1 * $1 }
        let actualSquares = actualCounts.values.reduce(0.0) { $0 + $1 * $1 }
        let covariance = correct * samples - predictedDotActual
        let predictedVariance = samples * samples - predictedSquares
        let actualVariance = samples * samples - actualSquares
        guard predictedVariance * actualVariance != 0 else { return 0 }
        return covariance / (predictedVariance * actualVariance).squareRoot()
    }

    /// Pearson's r (SciPy `pearsonr`), clipped to [-1, 1] against rounding.
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        checkShapes(x.count, y.count)
        let meanX = x.reduce(0, +) / Double(x.count)
        let meanY = y.reduce(0, +) / Double(y.count)
        var crossProducts = 0.0, squaresX = 0.0, squaresY = 0.0
        for (a, b) in zip(x, y) {
            let dx = a - meanX, dy = b - meanY
            crossProducts += dx * dy
            squaresX += dx * dx
            squaresY += dy * dy
        }
        guard squaresX > 0, squaresY > 0 else { return 0 }
        return min(1, max(-1, crossProducts / (squaresX.squareRoot() * squaresY.squareRoot())))
    }

    /// Spearman's rho (SciPy `spearmanr`): Pearson's r of the ranks, tied values sharing their average rank.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        checkShapes(x.count, y.count)
        return pearson(averageRanks(x), averageRanks(y))
    }

    /// 1-based ranks, ties given the mean of the ranks they span (SciPy `rankdata(method="average")`).
    static func averageRanks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count && values[order[end]] == values[order[start]] { end += 1 }
            let rank = Double(start + 1 + end) / 2
            for position in start..<end { ranks[order[position]] = rank }
            start = end
        }
        return ranks
    }

    private static func checkShapes(_ predictions: Int, _ labels: Int) {
        precondition(predictions == labels, "Metrics: \(predictions) predictions for \(labels) labels")
        precondition(labels > 0, "Metrics: no examples to score")
    }
}
