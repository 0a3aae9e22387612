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
        for g in 0..<groups {
            for r in 0..<rowsPerGroup {
                let offset = (g * rowsPerGroup + r) * cols
                forwardRow(x + offset, y + offset, cols, scale, mask, group: g)
            }
        }
    }

    @inline(__always)
    private static func forwardRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ cols: Int,
                                   _ scale: Float, _ mask: SoftmaxMask, group: Int) {
        // Pass 1: logits into y (scaled and masked) and their maximum.
        var maxLanes = Lanes(repeating: -.infinity)
        switch mask {
        case .none:
            Elementwise.chunks(cols) { i, n in
                let z = scale * Elementwise.load(x, i, n)
                Elementwise.store(z, y, i, n)
                maxLanes = pointwiseMax(maxLanes, z, n)
            }
        case .additive(let m):
            let row = m + group * cols
            Elementwise.chunks(cols) { i, n in
                let z = scale * Elementwise.load(x, i, n) + Elementwise.load(row, i, n)
                Elementwise.store(z, y, i, n)
                maxLanes = pointwiseMax(maxLanes, z, n)
            }
        case .keys(let m):
            let row = m + group * cols
            Elementwise.chunks(cols) { i, n in
                var z = scale * Elementwise.load(x, i, n)
                z.replace(with: -.infinity, where: Elementwise.load(row, i, n) .== 0)
                Elementwise.store(z, y, i, n)
                maxLanes = pointwiseMax(maxLanes, z, n)
            }
        }
        let rowMax = VectorMath.horizontalMax(maxLanes)
        if rowMax == -.infinity {  // every key masked out: no distribution, all zeros rather than NaN
            Buffer.zero(y, cols)
            return
        }
        // Pass 2: exponentiate in place and sum; −inf logits give exactly 0.
        var sumLanes = Lanes()
        Elementwise.chunks(cols) { i, n in
            var e = VectorMath.exp(Elementwise.load(UnsafePointer(y), i, n) - rowMax)
            if n < Lanes.scalarCount { e = zeroTail(e, n) }
            Elementwise.store(e, y, i, n)
            sumLanes += e
        }
        let inverse = 1 / sumLanes.sum()
        Elementwise.scale(y, by: inverse, cols)
    }

    /// Lane-wise running maximum; the unused lanes of a partial chunk must not count.
    @inline(__always)
    private static func pointwiseMax(_ running: Lanes, _ z: Lanes, _ lanes: Int) -> Lanes {
        let candidate = lanes == Lanes.scalarCount ? z : fillTail(z, lanes, with: -.infinity)
        return running.replacing(with: candidate, where: candidate .> running)
    }

    @inline(__always)
    private static func fillTail(_ v: Lanes, _ lanes: Int, with value: Float) -> Lanes {
        var out = v
        for j in lanes..<Lanes.scalarCount { out[j] = value }
        return out
    }

    @inline(__always)
    private static func zeroTail(_ v: Lanes, _ lanes: Int) -> Lanes { fillTail(v, lanes, with: 0) }

    /// Accumulates dx += scale · y ⊙ (dy − Σ y·dy) row by row (the softmax Jacobian; the mask is a constant and
    /// masked entries have y = 0, so they get no gradient).
    public static func backward(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                                rows: Int, cols: Int, scale: Float = 1) {
        for r in 0..<rows {
            let yr = y + r * cols, gr = dy + r * cols, dr = dx + r * cols
            var dotLanes = Lanes()
            Elementwise.chunks(cols) { i, n in dotLanes += Elementwise.load(yr, i, n) * Elementwise.load(gr, i, n) }
            let dot = dotLanes.sum()
            Elementwise.chunks(cols) { i, n in
                let d = scale * Elementwise.load(yr, i, n) * (Elementwise.load(gr, i, n) - dot)
                Elementwise.store(Elementwise.load(UnsafePointer(dr), i, n) + d, dr, i, n)
            }
        }
    }
}
