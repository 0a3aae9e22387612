import Tensor

/// Global L2-norm clipping over every gradient at once (PyTorch `clip_grad_norm_`): when the norm exceeds
/// `maxNorm`, all gradients are scaled by maxNorm / (norm + 1e-6).
public enum GradientClipping {
    /// Clips in place; returns the norm before clipping (reported, and checked for NaN by the trainer).
    /// `maxNorm` 0 only measures.
    @discardableResult
    public static func clip(_ gradients: UnsafeMutablePointer<Float>, count: Int, maxNorm: Float) -> Float {
        let norm = Reduce.sumOfSquares(gradients, count).squareRoot()
        let coefficient = maxNorm / (norm + 1e-6)
        if maxNorm > 0 && coefficient < 1 {
            Elementwise.scale(gradients, by: coefficient, count)
        }
        return norm
    }
}
