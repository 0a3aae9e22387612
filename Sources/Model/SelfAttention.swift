import Tensor

/// Multi-head attention over [prefix; tokens] (method.md §1, §3, §6) on the fused (N, 3H) QKV buffer, one
/// small product per (sample, head) on strided views: no head permutes, no concatenated K′/V′. The prefix
/// gate is a per-sample scalar, so it rides in the products' alpha.
struct SelfAttention {
    let heads: Int
    let headSize: Int
    let dropout: Float

    var hidden: Int { heads * headSize }

    struct Activations {
        /// Softmax output (B, heads, T, L + T), its dropout mask, and the dropped probabilities.
        let probs: UnsafeMutablePointer<Float>
        let mask: UnsafeMutablePointer<Float>
        let dropped: UnsafeMutablePointer<Float>
    }

    struct Prefix {
        let keys: UnsafePointer<Float>
        let values: UnsafePointer<Float>
        let rowStride: Int
        /// g_P per sample (1 when ungated).
        let scales: UnsafePointer<Float>
    }

    /// qkv (N, 3H) → context (N, H).
    func forward(qkv: UnsafePointer<Float>, prefix: Prefix?, context: UnsafeMutablePointer<Float>,
                 _ act: Activations, layer: Int, shape: StepShape, fillMask: MaskFiller) {
        let T = shape.seqLen, S = shape.keys, L = shape.prefixLength, H = hidden, d = headSize
        let scale = 1 / Float(d).squareRoot()
        for b in 0..<shape.batch {
            for h in 0..<heads {
                let q = qkv + b * T * 3 * H + h * d
                let scores = act.probs + (b * heads + h) * T * S
                if let prefix {
                    BLAS.gemm(.none, .transposed, m: T, n: L, k: d, alpha: prefix.scales[b] * scale,
                              a: q, lda: 3 * H, b: prefix.keys + h * d, ldb: prefix.rowStride,
                              c: scores, ldc: S)
                }
                BLAS.gemm(.none, .transposed, m: T, n: T, k: d, alpha: scale, a: q, lda: 3 * H,
                          b: q + H, ldb: 3 * H, c: scores + L, ldc: S)
            }
        }
        let count = shape.batch * heads * T * S
        Softmax.forward(x: act.probs, y: act.probs, groups: shape.batch, rowsPerGroup: heads * T, cols: S,
                        mask: .additive(shape.additiveMask))
        let used = probabilitiesUsed(act, shape: shape)
        if used != UnsafePointer(act.probs) {
            fillMask(.attentionProbs(layer: layer), act.mask, count)
            Dropout.forward(x: act.probs, mask: act.mask, y: act.dropped, count: count)
        }
        for b in 0..<shape.batch {
            for h in 0..<heads {
                let v = qkv + b * T * 3 * H + 2 * H + h * d
                let p = used + (b * heads + h) * T * S
                let c = context + b * T * H + h * d
                if let prefix {
                    BLAS.gemm(.none, .none, m: T, n: d, k: L, alpha: prefix.scales[b], a: p, lda: S,
                              b: prefix.values + h * d, ldb: prefix.rowStride, c: c, ldc: H)
                }
                BLAS.gemm(.none, .none, m: T, n: d, k: T, a: p + L, lda: S, b: v, ldb: 3 * H,
                          beta: prefix == nil ? 0 : 1, c: c, ldc: H)
            }
        }
    }

    /// The probabilities multiplied into V: dropped in training with p > 0, else the softmax output itself.
    private func probabilitiesUsed(_ act: Activations, shape: StepShape) -> UnsafePointer<Float> {
        shape.training && dropout > 0 ? UnsafePointer(act.dropped) : UnsafePointer(act.probs)
    }

    /// dcontext (N, H) → dqkv (N, 3H), written (not accumulated). With a prefix, also the per-sample gradients
    /// of the effective (gated) prefix keys and values, (B, L, H) each.
    func backward(dcontext: UnsafePointer<Float>, qkv: UnsafePointer<Float>, prefix: Prefix?,
                  dqkv: UnsafeMutablePointer<Float>, _ act: Activations, scratch: AttentionScratch, shape: StepShape) {
        let T = shape.seqLen, S = shape.keys, L = shape.prefixLength, H = hidden, d = headSize
        let scale = 1 / Float(d).squareRoot()
        let used = probabilitiesUsed(act, shape: shape)
        for b in 0..<shape.batch {
            for h in 0..<heads {
                let v = qkv + b * T * 3 * H + 2 * H + h * d
                let dv = dqkv + b * T * 3 * H + 2 * H + h * d
                let p = used + (b * heads + h) * T * S
                let dp = scratch.dprobs + (b * heads + h) * T * S
                let dc = dcontext + b * T * H + h * d
                if let prefix {
                    BLAS.gemm(.none, .transposed, m: T, n: L, k: d, alpha: prefix.scales[b], a: dc, lda: H,
                              b: prefix.values + h * d, ldb: prefix.rowStride, c: dp, ldc: S)
                    BLAS.gemm(.transposed, .none, m: L, n: d, k: T, a: p, lda: S, b: dc, ldb: H,
                              c: scratch.dprefixValues + b * L * H + h * d, ldc: H)
                }
                BLAS.gemm(.none, .transposed, m: T, n: T, k: d, a: dc, lda: H, b: v, ldb: 3 * H, c: dp + L, ldc: S)
                BLAS.gemm(.transposed, .none, m: T, n: d, k: T, a: p + L, lda: S, b: dc, ldb: H, c: dv, ldc: 3 * H)
            }
        }
        let count = shape.batch * heads * T * S
        if used != UnsafePointer(act.probs) {
            Elementwise.multiply(scratch.dprobs, act.mask, scratch.dprobs, count)
        }
        Buffer.zero(scratch.dscores, count)
        Softmax.backward(y: act.probs, dy: scratch.dprobs, dx: scratch.dscores, rows: shape.batch * heads * T, cols: S)
        for b in 0..<shape.batch {
            for h in 0..<heads {
                let q = qkv + b * T * 3 * H + h * d
                let dq = dqkv + b * T * 3 * H + h * d
                let ds = scratch.dscores + (b * heads + h) * T * S
                BLAS.gemm(.none, .none, m: T, n: d, k: T, alpha: scale, a: ds + L, lda: S, b: q + H, ldb: 3 * H,
                          c: dq, ldc: 3 * H)
                BLAS.gemm(.transposed, .none, m: T, n: d, k: T, alpha: scale, a: ds + L, lda: S, b: q, ldb: 3 * H,
                          c: dq + H, ldc: 3 * H)
                if let prefix {
                    BLAS.gemm(.none, .none, m: T, n: d, k: L, alpha: prefix.scales[b] * scale, a: ds, lda: S,
                              b: prefix.keys + h * d, ldb: prefix.rowStride, beta: 1, c: dq, ldc: 3 * H)
                    BLAS.gemm(.transposed, .none, m: L, n: d, k: T, alpha: scale, a: ds, lda: S, b: q, ldb: 3 * H,
                              c: scratch.dprefixKeys + b * L * H + h * d, ldc: H)
                }
            }
        }
    }
}

struct AttentionScratch {
    /// (B, heads, T, L + T) each.
    let dprobs: UnsafeMutablePointer<Float>
    let dscores: UnsafeMutablePointer<Float>
    /// ∂L/∂(g·P_K), ∂L/∂(g·P_V) per sample: (B, L, H) each.
    let dprefixKeys: UnsafeMutablePointer<Float>
    let dprefixValues: UnsafeMutablePointer<Float>
}
