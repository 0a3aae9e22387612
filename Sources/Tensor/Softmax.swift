/// Which keys a softmax row may attend to. One mask row (length = cols) per group, shared by all
/// `rowsPerGroup` rows of that group (attention: group = sample, rows = heads × queries).
public enum SoftmaxMask {
    case none
    /// Values added to the scaled logits (HF BERT: 0 for real tokens, −10000 for padding).
    case additive(UnsafePointer<Float>)
    /// 1 = attend, 0 = masked. Masked entries get probability exactly 0; a fully masked row is all zeros.
    case keys(UnsafePointer<Float>)
}

/// Softmax over the last axis of (groups × rowsPerGroup) rows of `cols`, fused with the logit scale and mask:
/// y = softmax(scale·x + mask). y may alias x (in place).
public enum Softmax {
    public static func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                               groups: Int, rowsPerGroup: Int, cols: Int,
                               scale: Float = 1, mask: SoftmaxMask = .none) {
        precondition(scale > 0, "softmax scale must be positive, got \(scale)")
        for g in 0..<groups {
            for r in 0..<rowsPerGroup {
                let offset = (g * rowsPerGroup + r) * cols
                forwardRow(x + offset, y + offset, cols, scale, mask, group: g)
            }
        }
    }

    private static func forwardRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ cols: Int,
                                   _ scale: Float, _ mask: SoftmaxMask, group: Int) {
        // Pass 1: logits into y (scaled and masked) and their maximum. Partial chunks pad x with −inf, so the
        // unused lanes never win the maximum (scale > 0) and exponentiate to exactly 0 in pass 2.
        var maxLanes = Lanes(repeating: -.infinity)
        for (i, n) in Elementwise.chunks(cols) {
            var z = scale * Elementwise.load(x, i, n, padding: -.infinity)
            switch mask {
            case .none: break
            case .additive(let m): z += Elementwise.load(m + group * cols, i, n)
            case .keys(let m): z.replace(with: -.infinity, where: Elementwise.load(m + group * cols, i, n) .== 0)
            }
            Elementwise.store(z, y, i, n)
            maxLanes = maxLanes.replacing(with: z, where: z .> maxLanes)
        }
        let rowMax = VectorMath.horizontalMax(maxLanes)
        if rowMax == -.infinity {  // every key masked out: no distribution, all zeros rather than NaN
            Buffer.zero(y, cols)
            return
        }
        // Pass 2: exponentiate in place and sum; −inf logits (masked keys, padding lanes) give exactly 0.
        var sumLanes = Lanes()
        for (i, n) in Elementwise.chunks(cols) {
            let e = VectorMath.exp(Elementwise.load(UnsafePointer(y), i, n, padding: -.infinity) - rowMax)
            Elementwise.store(e, y, i, n)
            sumLanes += e
        }
        let inverse = 1 / sumLanes.sum()
        Elementwise.scale(y, by: inverse, cols)
    }

    /// Accumulates dx += scale · y ⊙ (dy − Σ y·dy) row by row (the softmax Jacobian; the mask is a constant and
    /// masked entries have y = 0, so they get no gradient).
    public static func backward(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                                rows: Int, cols: Int, scale: Float = 1) {
        for r in 0..<rows {
            let yr = y + r * cols, gr = dy + r * cols, dr = dx + r * cols
            var dotLanes = Lanes()
            for (i, n) in Elementwise.chunks(cols) {
                dotLanes += Elementwise.load(yr, i, n) * Elementwise.load(gr, i, n)
            }
            let dot = dotLanes.sum()
            for (i, n) in Elementwise.chunks(cols) {
                let d = scale * Elementwise.load(yr, i, n) * (Elementwise.load(gr, i, n) - dot)
                Elementwise.store(Elementwise.load(UnsafePointer(dr), i, n) + d, dr, i, n)
            }
        }
    }
}
