import Tensor

/// Multi-head attention over [prefix; tokens] on the fused (N, 3H) QKV buffer, one
/// small product per (sample, head) on strided views: no head permutes, no concatenated K′/V′. The prefix
/// gate is a per-sample scalar, so it rides in the products' alpha. Samples are independent, so they are
/// spread over the workers, each product a single-threaded OpenBLAS call on its worker's thread.
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

    /// Every sample once, spread over the workers.
    private func forEachSample(_ shape: StepShape, _ body: (Int) -> Void) {
        let workers = min(shape.workers.count, shape.batch)
        shape.workers.run(workers) { w in
            for b in stride(from: w, to: shape.batch, by: workers) { body(b) }
        }
    }

    private func dropping(_ shape: StepShape) -> Bool { shape.training && dropout > 0 }

    /// qkv (N, 3H) → context (N, H). With `firstQueryOnly` (inference of the last layer, whose other positions
    /// nobody reads) only each sample's first row of context is computed; keys and values are still all tokens.
    func forward(qkv: UnsafePointer<Float>, prefix: Prefix?, context: UnsafeMutablePointer<Float>,
                 _ act: Activations, layer: Int, shape: StepShape, fillMask: MaskFiller, firstQueryOnly: Bool = false) {
        let T = shape.seqLen, S = shape.keys, L = shape.prefixLength, H = hidden, d = headSize
        let Q = firstQueryOnly ? 1 : T
        let scale = 1 / Float(d).squareRoot()
        let dropping = dropping(shape)
        precondition(!(firstQueryOnly && dropping), "first-query attention is for inference, without dropout")
        // Masks are drawn up front, in one sequence, so results do not depend on the worker count.
        if dropping { fillMask(.attentionProbs(layer: layer), act.mask, shape.batch * heads * T * S) }
        forEachSample(shape) { b in
            let block = b * heads * Q * S
            for h in 0..<heads {
                let q = qkv + b * T * 3 * H + h * d
                let k = qkv + b * T * 3 * H + H + h * d
                let scores = act.probs + block + h * Q * S
                if let prefix {
                    BLAS.gemm(.none, .transposed, m: Q, n: L, k: d, alpha: prefix.scales[b] * scale,
                              a: q, lda: 3 * H, b: prefix.keys + h * d, ldb: prefix.rowStride, c: scores, ldc: S)
                }
                BLAS.gemm(.none, .transposed, m: Q, n: T, k: d, alpha: scale, a: q, lda: 3 * H,
                          b: k, ldb: 3 * H, c: scores + L, ldc: S)
            }
            Softmax.forward(x: act.probs + block, y: act.probs + block, groups: 1, rowsPerGroup: heads * Q, cols: S,
                            mask: .additive(shape.additiveMask + b * S))
            let used: UnsafePointer<Float>
            if dropping {
                Dropout.forward(x: act.probs + block, mask: act.mask + block, y: act.dropped + block,
                                count: heads * Q * S)
                used = UnsafePointer(act.dropped + block)
            } else {
                used = UnsafePointer(act.probs + block)
            }
            for h in 0..<heads {
                let v = qkv + b * T * 3 * H + 2 * H + h * d
                let p = used + h * Q * S
                let c = context + b * T * H + h * d
                if let prefix {
                    BLAS.gemm(.none, .none, m: Q, n: d, k: L, alpha: prefix.scales[b], a: p, lda: S,
                              b: prefix.values + h * d, ldb: prefix.rowStride, c: c, ldc: H)
                }
                BLAS.gemm(.none, .none, m: Q, n: d, k: T, a: p + L, lda: S, b: v, ldb: 3 * H,
                          beta: prefix == nil ? 0 : 1, c: c, ldc: H)
            }
        }
    }

    /// dcontext (N, H) → dqkv (N, 3H), written (not accumulated). With a prefix, also the per-sample gradients
    /// of the effective (gated) prefix keys and values, (B, L, H) each.
    func backward(dcontext: UnsafePointer<Float>, qkv: UnsafePointer<Float>, prefix: Prefix?,
                  dqkv: UnsafeMutablePointer<Float>, _ act: Activations, scratch: AttentionScratch, shape: StepShape) {
        let T = shape.seqLen, S = shape.keys, L = shape.prefixLength, H = hidden, d = headSize
        let scale = 1 / Float(d).squareRoot()
        let dropping = dropping(shape)
        forEachSample(shape) { b in
            let block = b * heads * T * S
            let used = UnsafePointer(dropping ? act.dropped + block : act.probs + block)
            let dprobs = scratch.dprobs + block, dscores = scratch.dscores + block
            for h in 0..<heads {
                let v = qkv + b * T * 3 * H + 2 * H + h * d
                let dv = dqkv + b * T * 3 * H + 2 * H + h * d
                let p = used + h * T * S
                let dp = dprobs + h * T * S
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
            let count = heads * T * S
            if dropping { Elementwise.multiply(dprobs, act.mask + block, dprobs, count) }
            Buffer.zero(dscores, count)
            Softmax.backward(y: act.probs + block, dy: dprobs, dx: dscores, rows: heads * T, cols: S)
            for h in 0..<heads {
                let q = qkv + b * T * 3 * H + h * d
                let dq = dqkv + b * T * 3 * H + h * d
                let ds = dscores + h * T * S
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
