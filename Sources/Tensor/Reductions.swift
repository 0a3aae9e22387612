/// Whole-buffer reductions with SIMD16 accumulators (Swift never reassociates float adds, so a scalar
/// `reduce(+)` would not vectorise).
public enum Reduce {
    public static func sum(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc = Lanes()
        for (i, n) in Elementwise.chunks(count) { acc += Elementwise.load(x, i, n) }
        return acc.sum()
    }

    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc = Lanes()
        for (i, n) in Elementwise.chunks(count) {
            acc += Elementwise.load(a, i, n) * Elementwise.load(b, i, n)
        }
        return acc.sum()
    }

    /// Σ x², for gradient-norm clipping.
    public static func sumOfSquares(_ x: UnsafePointer<Float>, _ count: Int) -> Float { dot(x, x, count) }
}

/// Mean over the middle (step) axis of (batch, steps, width), optionally over masked steps only:
/// out[b, :] = Σ_t m[b,t]·x[b,t,:] / Σ_t m[b,t]. The UniPELT gates are this with width 1 over per-token
/// sigmoids; a mask of nil is the reference's unmasked mean over all T positions.
public enum MaskedMean {
    /// x: (batch, steps, width), mask: (batch, steps) of 0/1 or nil, out: (batch, width).
    /// A sample whose mask is all zero gets 0.
    public static func forward(x: UnsafePointer<Float>, mask: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>,
                               batch: Int, steps: Int, width: Int) {
        for b in 0..<batch {
            let o = out + b * width
            Buffer.zero(o, width)
            let weight = stepWeight(mask, b, steps)
            for t in 0..<steps {
                let w = mask.map { $0[b * steps + t] * weight } ?? weight
                if w != 0 { Elementwise.axpy(w, x + (b * steps + t) * width, o, width) }
            }
        }
    }

    /// dx[b,t,:] += m[b,t]/Σm · dout[b,:].
    public static func backward(dout: UnsafePointer<Float>, mask: UnsafePointer<Float>?,
                                dx: UnsafeMutablePointer<Float>, batch: Int, steps: Int, width: Int) {
        for b in 0..<batch {
            let weight = stepWeight(mask, b, steps)
            for t in 0..<steps {
                let w = mask.map { $0[b * steps + t] * weight } ?? weight
                if w != 0 { Elementwise.axpy(w, dout + b * width, dx + (b * steps + t) * width, width) }
            }
        }
    }

    /// 1 / (number of counted steps), or 0 when none count.
    @inline(__always)
    private static func stepWeight(_ mask: UnsafePointer<Float>?, _ b: Int, _ steps: Int) -> Float {
        let counted = mask.map { Reduce.sum($0 + b * steps, steps) } ?? Float(steps)
        return counted > 0 ? 1 / counted : 0
    }
}
