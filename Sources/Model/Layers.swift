import Tensor

/// One weight tensor as the step sees it: its values (the shared frozen backbone, or this model's own
/// copy) and, when it trains, its gradient buffer. Frozen weights have no gradient and get no dW.
struct Weight {
    let value: UnsafePointer<Float>
    let grad: UnsafeMutablePointer<Float>?
}

/// y = x·Wᵀ + b (PyTorch layout). The one Linear used by attention, FFN, adapter, LoRA, gates, prefix MLP,
/// pooler and classifier. `ldOut`/`ldDout` let a product write into (or read from) a column block of a
/// wider matrix, e.g. LoRA's update into the query third of the fused QKV output.
struct LinearLayer {
    let weight: Weight
    let bias: Weight?
    let inFeatures: Int
    let outFeatures: Int

    /// x: (rows, in) → out: (rows, out) with row stride `ldOut`. `accumulate` adds to out (bias included).
    func forward(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int,
                 ldOut: Int? = nil, accumulate: Bool = false, workers: StepWorkers) {
        let ld = ldOut ?? outFeatures
        if let bias {
            workers.rows(rows) { r in
                for row in r {
                    if accumulate { Elementwise.add(out + row * ld, bias.value, out + row * ld, outFeatures) }
                    else { Buffer.copy(bias.value, out + row * ld, outFeatures) }
                }
            }
        }
        workers.gemm(.none, .transposed, m: rows, n: outFeatures, k: inFeatures, a: x, b: weight.value,
                     beta: bias != nil || accumulate ? 1 : 0, c: out, ldc: ld)
    }

    /// dx = dout·W (accumulated into dx unless `overwrite`) when asked for and, for trained tensors,
    /// dW += doutᵀ·x and db += Σ dout.
    func backward(_ dout: UnsafePointer<Float>, _ x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                  overwrite: Bool = false, rows: Int, ldDout: Int? = nil, workers: StepWorkers) {
        let ld = ldDout ?? outFeatures
        if let dx {
            workers.gemm(.none, .none, m: rows, n: inFeatures, k: outFeatures, a: dout, lda: ld, b: weight.value,
                         beta: overwrite ? 0 : 1, c: dx)
        }
        if let dweight = weight.grad {
            workers.gemm(.transposed, .none, m: outFeatures, n: inFeatures, k: rows, a: dout, lda: ld, b: x,
                         beta: 1, c: dweight)
        }
        if let dbias = bias?.grad {
            // Column blocks: each worker sums its own slice of every row.
            workers.blocks(outFeatures, minimum: 64) { cols in
                for r in 0..<rows {
                    Elementwise.add(dout + r * ld + cols.lowerBound, dbias + cols.lowerBound, dbias + cols.lowerBound,
                                    cols.count)
                }
            }
        }
    }

    var trains: Bool { weight.grad != nil || bias?.grad != nil }
}

/// LayerNorm over the hidden axis with the residual add fused in front: y = LN(a + b). Rows are independent,
/// so they are split over the step's workers.
struct LayerNormLayer {
    let gamma: Weight
    let beta: Weight
    let width: Int
    let eps: Float

    /// Writes sum = a + b (kept for backward), the row statistics, and y.
    func forward(adding a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, sum: UnsafeMutablePointer<Float>,
                 y: UnsafeMutablePointer<Float>, stats: RowStats, rows: Int, workers: StepWorkers) {
        workers.rows(rows) { r in
            let o = r.lowerBound * width
            LayerNorm.forward(adding: a + o, b + o, sum: sum + o, gamma: gamma.value, beta: beta.value, y: y + o,
                              mean: stats.mean + r.lowerBound, rstd: stats.rstd + r.lowerBound, rows: r.count,
                              cols: width, eps: eps)
        }
    }

    /// y = LN(x) without a residual (embeddings).
    func forward(_ x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, stats: RowStats, rows: Int) {
        LayerNorm.forward(x: x, gamma: gamma.value, beta: beta.value, y: y, mean: stats.mean, rstd: stats.rstd,
                          rows: rows, cols: width, eps: eps)
    }

    /// Accumulates dx += ∂L/∂x (x = the LayerNorm input) and dγ/dβ when trained. With trained γ/β the rows
    /// share the parameter gradients, so that case stays on one thread.
    func backward(_ dy: UnsafePointer<Float>, input: UnsafePointer<Float>, stats: RowStats,
                  dx: UnsafeMutablePointer<Float>, rows: Int, workers: StepWorkers) {
        func block(_ r: Range<Int>) {
            let o = r.lowerBound * width
            LayerNorm.backward(dy: dy + o, x: input + o, mean: stats.mean + r.lowerBound,
                               rstd: stats.rstd + r.lowerBound, gamma: gamma.value, dx: dx + o,
                               dgamma: gamma.grad, dbeta: beta.grad, rows: r.count, cols: width)
        }
        if trains { block(0..<rows) } else { workers.rows(rows, block) }
    }

    var trains: Bool { gamma.grad != nil || beta.grad != nil }
}

/// Per-row LayerNorm statistics saved by forward.
struct RowStats {
    let mean: UnsafeMutablePointer<Float>
    let rstd: UnsafeMutablePointer<Float>

    init(mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>) {
        self.mean = mean
        self.rstd = rstd
    }

    init(_ pool: ActivationArena, rows: Int) {
        self.init(mean: pool.make(rows), rstd: pool.make(rows))
    }
}

/// Per-sample scalars broadcast over a sample's rows (the gates, LoRA's scale).
enum SampleScale {
    /// out[b,t,0..<width] = s[b]·x[b,t,…] for rows of stride ldX/ldOut.
    static func forward(_ x: UnsafePointer<Float>, scales: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                        batch: Int, rowsPerSample: Int, width: Int, ldX: Int? = nil, ldOut: Int? = nil) {
        let lx = ldX ?? width, lo = ldOut ?? width
        for b in 0..<batch {
            for t in 0..<rowsPerSample {
                let row = b * rowsPerSample + t
                Elementwise.scale(x + row * lx, by: scales[b], into: out + row * lo, width)
            }
        }
    }

    /// dscales[b] = Σ_{t,k} dout[b,t,k]·x[b,t,k] (the gradient of a per-sample scale).
    static func dot(_ dout: UnsafePointer<Float>, _ x: UnsafePointer<Float>, into dscales: UnsafeMutablePointer<Float>,
                    batch: Int, rowsPerSample: Int, width: Int, ldDout: Int? = nil, ldX: Int? = nil) {
        let ld = ldDout ?? width, lx = ldX ?? width
        for b in 0..<batch {
            var sum: Float = 0
            for t in 0..<rowsPerSample {
                let row = b * rowsPerSample + t
                sum += Reduce.dot(dout + row * ld, x + row * lx, width)
            }
            dscales[b] = sum
        }
    }
}
