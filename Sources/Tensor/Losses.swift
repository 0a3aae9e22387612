import Foundation

/// Softmax cross-entropy with integer labels, mean over the batch (PyTorch's CrossEntropyLoss).
public enum CrossEntropy {
    /// logits: (batch, classes), labels: (batch) in [0, classes). Returns the mean loss and accumulates
    /// dlogits += (softmax(logits) − onehot(label)) / batch · lossScale. Computed in Double per row: the
    /// head is tiny and the loss is reported to users.
    public static func forwardBackward(logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>,
                                       dlogits: UnsafeMutablePointer<Float>?, batch: Int, classes: Int,
                                       lossScale: Float = 1) -> Float {
        precondition(batch > 0 && classes > 0, "cross-entropy needs batch > 0 and classes > 0")
        var total = 0.0
        for b in 0..<batch {
            let row = logits + b * classes
            let label = Int(labels[b])
            precondition(label >= 0 && label < classes, "label \(label) of sample \(b) outside \(classes) classes")
            var maxLogit = -Double.infinity
            for c in 0..<classes { maxLogit = max(maxLogit, Double(row[c])) }
            var sumExp = 0.0
            for c in 0..<classes { sumExp += Foundation.exp(Double(row[c]) - maxLogit) }
            total += log(sumExp) + maxLogit - Double(row[label])
            if let dlogits {
                let scale = Double(lossScale) / Double(batch)
                for c in 0..<classes {
                    let p = Foundation.exp(Double(row[c]) - maxLogit) / sumExp
                    dlogits[b * classes + c] += Float((p - (c == label ? 1 : 0)) * scale)
                }
            }
        }
        return Float(total / Double(batch))
    }
}

/// Mean squared error over `count` predictions (STS-B regression head, PyTorch's MSELoss).
public enum MeanSquaredError {
    /// Returns mean((prediction − target)²) and accumulates dprediction += 2(prediction − target)/count · lossScale.
    public static func forwardBackward(prediction: UnsafePointer<Float>, target: UnsafePointer<Float>,
                                       dprediction: UnsafeMutablePointer<Float>?, count: Int,
                                       lossScale: Float = 1) -> Float {
        precondition(count > 0, "MSE needs at least one prediction")
        var total = 0.0
        for i in 0..<count {
            let diff = Double(prediction[i]) - Double(target[i])
            total += diff * diff
            dprediction?[i] += Float(2 * diff / Double(count) * Double(lossScale))
        }
        return Float(total / Double(count))
    }
}
