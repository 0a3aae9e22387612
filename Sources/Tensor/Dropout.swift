/// Inverted dropout. The mask holds the per-element scale, 0 or 1/(1−p), so forward and backward are one
/// multiply each and backward reuses exactly the forward's draw.
public enum Dropout {
    /// Draws a fresh mask: each element kept with probability 1−p (scale 1/(1−p)), else 0.
    /// p = 0 gives all ones and draws nothing (eval mode and dropout-free runs stay RNG-neutral).
    public static func makeMask(_ mask: UnsafeMutablePointer<Float>, count: Int, probability p: Float,
                                rng: inout RNG) {
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1), got \(p)")
        if p == 0 { Buffer.fill(mask, count, 1); return }
        rng.fillBernoulli(mask, count, keepProbability: 1 - p, keptValue: 1 / (1 - p))
    }

    /// A mask from an external keep pattern (1 = kept, 0 = dropped), e.g. PyTorch's, for golden tests.
    public static func makeMask(_ mask: UnsafeMutablePointer<Float>, fromKeep keep: UnsafePointer<UInt8>,
                                count: Int, probability p: Float) {
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1), got \(p)")
        let kept = 1 / (1 - p)
        for i in 0..<count { mask[i] = keep[i] != 0 ? kept : 0 }
    }

    /// Training forward: draws a fresh mask into `mask` (kept for backward), then y = x ⊙ mask.
    public static func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                               mask: UnsafeMutablePointer<Float>, count: Int, probability p: Float,
                               rng: inout RNG) {
        makeMask(mask, count: count, probability: p, rng: &rng)
        forward(x: x, mask: mask, y: y, count: count)
    }

    /// y = x ⊙ mask with an existing mask (drawn, all ones, or PyTorch's); y may alias x.
    public static func forward(x: UnsafePointer<Float>, mask: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                               count: Int) {
        Elementwise.multiply(x, mask, y, count)
    }

    /// dx += dy ⊙ mask.
    public static func backward(dy: UnsafePointer<Float>, mask: UnsafePointer<Float>,
                                dx: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.accumulate(dy, mask, into: dx, count) { $0 * $1 }
    }
}
