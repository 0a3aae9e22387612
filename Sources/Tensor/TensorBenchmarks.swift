import Foundation

/// Release-build benchmark of the kernels at BERT shapes (`unipelt bench tensor`). Each kernel is checked
/// against a Double reference on a sample first, then timed (warm-up, median of repeats). Figures are printed
/// as absolute rates and relative to the machine's current SGEMM rate / the GEMM that feeds the same tensor,
/// because this machine's speed drifts from day to day.
public enum TensorBenchmarks {
    public struct Measurement: Sendable {
        public let name: String
        public let seconds: Double
        public let bytes: Double
        /// Time of the GEMM that produces or consumes this tensor in a BERT layer, for the "% of GEMM" column.
        public let gemmSeconds: Double
        public var gigabytesPerSecond: Double { bytes / seconds / 1e9 }
    }

    /// BERT-small shapes from the brief: batch 16, 128 tokens, hidden 384, FFN 1536, 12 heads of 32.
    public struct Shapes: Sendable {
        public var batch = 16, tokens = 128, hidden = 384, ffn = 1536, heads = 12
        public init() {}
        var rows: Int { batch * tokens }
        var headDim: Int { hidden / heads }
    }

    /// Runs everything and prints one line per figure through `log`. Leaves BLAS threads as it found them.
    @discardableResult
    public static func run(shapes: Shapes = Shapes(), log: (String) -> Void = { print($0) }) -> [Measurement] {
        log("OpenBLAS: \(BLAS.configuration)")
        let probe1 = SGEMMProbe.measure(threads: 1)
        let probe2 = SGEMMProbe.measure(threads: 2)
        log(probe1.description)
        log(probe2.description)
        let reference = probe1.gflops
        var results: [Measurement] = []

        let previous = BLAS.threads
        BLAS.setThreads(1)
        defer { BLAS.setThreads(previous) }

        let s = shapes
        let ffnCount = s.rows * s.ffn, hiddenCount = s.rows * s.hidden
        let scoreCount = s.batch * s.heads * s.tokens * s.tokens
        var rng = RNG(seed: 2024, stream: 7)
        func random(_ count: Int, _ scale: Float = 1) -> Tensor {
            let t = Tensor(shape: Shape(count))
            rng.fillNormal(t.mutableData, count, std: scale)
            return t
        }

        // GEMMs the kernels sit next to, timed at the same shapes.
        let x = random(hiddenCount), w1 = random(s.ffn * s.hidden, 0.02), pre = random(ffnCount)
        let ffnGEMM = time {
            BLAS.gemm(.none, .transposed, m: s.rows, n: s.ffn, k: s.hidden, a: x.data, b: w1.data, c: pre.mutableData)
        }
        let wo = random(s.hidden * s.hidden, 0.02), out = random(hiddenCount)
        let denseGEMM = time {
            BLAS.gemm(.none, .transposed, m: s.rows, n: s.hidden, k: s.hidden, a: x.data, b: wo.data, c: out.mutableData)
        }
        let q = random(hiddenCount), k = random(hiddenCount), scores = random(scoreCount)
        let scoreGEMM = time {
            // Per (batch, head): Q_h·K_hᵀ with heads interleaved in the hidden axis (ld = hidden).
            for b in 0..<s.batch {
                for h in 0..<s.heads {
                    let offset = b * s.tokens * s.hidden + h * s.headDim
                    BLAS.gemm(.none, .transposed, m: s.tokens, n: s.tokens, k: s.headDim, alpha: 0.125,
                              a: q.data + offset, lda: s.hidden, b: k.data + offset, ldb: s.hidden,
                              c: scores.mutableData + (b * s.heads + h) * s.tokens * s.tokens)
                }
            }
        }
        log(String(format: "GEMM at BERT shapes (1 thread): FFN up %d×%d×%d %.2f ms (%.1f GFLOP/s), dense %d×%d×%d %.2f ms, "
                   + "attention scores %d×(%d×%d×%d) %.2f ms (%.1f GFLOP/s)",
                   s.rows, s.ffn, s.hidden, ffnGEMM * 1e3, 2 * Double(s.rows * s.ffn * s.hidden) / ffnGEMM / 1e9,
                   s.rows, s.hidden, s.hidden, denseGEMM * 1e3,
                   s.batch * s.heads, s.tokens, s.tokens, s.headDim, scoreGEMM * 1e3,
                   2 * Double(s.batch * s.heads * s.tokens * s.tokens * s.headDim) / scoreGEMM / 1e9))

        // GELU forward/backward on the FFN activation, as the encoder layer calls them.
        let y = Tensor(shape: Shape(ffnCount)), dy = random(ffnCount), dpre = random(ffnCount)
        verify("GELU", count: 4096, input: pre.data, output: { GELU.forward(x: pre.data, y: y.mutableData, count: 4096); return y.data },
               reference: { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }, tolerance: 1e-6, log: log)
        let geluForward = time { GELU.forward(x: pre.data, y: y.mutableData, count: ffnCount) }
        results.append(.init(name: "GELU forward (FFN \(s.rows)×\(s.ffn))", seconds: geluForward,
                             bytes: 8 * Double(ffnCount), gemmSeconds: ffnGEMM))
        let geluBackward = time { GELU.backward(x: pre.data, dy: dy.data, dx: dpre.mutableData, count: ffnCount) }
        results.append(.init(name: "GELU backward (dx += gelu'(x)·dy)", seconds: geluBackward,
                             bytes: 16 * Double(ffnCount), gemmSeconds: ffnGEMM))

        // Masked, scaled softmax on attention scores; every sample has 16 padded keys.
        let mask = Tensor(shape: Shape(s.batch * s.tokens))
        for b in 0..<s.batch { for t in 0..<s.tokens { mask.mutableData[b * s.tokens + t] = t < s.tokens - 16 ? 0 : -10000 } }
        let probs = Tensor(shape: Shape(scoreCount)), dscores = Tensor(shape: Shape(scoreCount))
        let softmaxForward = time {
            Softmax.forward(x: scores.data, y: probs.mutableData, groups: s.batch, rowsPerGroup: s.heads * s.tokens,
                            cols: s.tokens, scale: 1, mask: .additive(mask.data))
        }
        results.append(.init(name: "softmax+mask forward (\(s.batch)×\(s.heads)×\(s.tokens)×\(s.tokens))",
                             seconds: softmaxForward, bytes: 8 * Double(scoreCount), gemmSeconds: scoreGEMM))
        let softmaxBackward = time {
            Softmax.backward(y: probs.data, dy: scores.data, dx: dscores.mutableData, rows: scoreCount / s.tokens,
                             cols: s.tokens, scale: 0.125)
        }
        results.append(.init(name: "softmax backward", seconds: softmaxBackward, bytes: 16 * Double(scoreCount),
                             gemmSeconds: scoreGEMM))

        // Residual add + LayerNorm on the hidden state.
        let residual = random(hiddenCount), sum = Tensor(shape: Shape(hiddenCount)), normed = Tensor(shape: Shape(hiddenCount))
        let gamma = random(s.hidden), beta = random(s.hidden)
        let mean = Tensor(shape: Shape(s.rows)), rstd = Tensor(shape: Shape(s.rows))
        let dnormed = random(hiddenCount), dsum = Tensor(shape: Shape(hiddenCount))
        let dgamma = Tensor(shape: Shape(s.hidden)), dbeta = Tensor(shape: Shape(s.hidden))
        let layerNormForward = time {
            LayerNorm.forward(adding: out.data, residual.data, sum: sum.mutableData, gamma: gamma.data, beta: beta.data,
                              y: normed.mutableData, mean: mean.mutableData, rstd: rstd.mutableData,
                              rows: s.rows, cols: s.hidden, eps: 1e-12)
        }
        results.append(.init(name: "residual+LayerNorm forward (\(s.rows)×\(s.hidden))", seconds: layerNormForward,
                             bytes: 16 * Double(hiddenCount), gemmSeconds: denseGEMM))
        let layerNormBackward = time {
            LayerNorm.backward(dy: dnormed.data, x: sum.data, mean: mean.data, rstd: rstd.data, gamma: gamma.data,
                               dx: dsum.mutableData, dgamma: dgamma.mutableData, dbeta: dbeta.mutableData,
                               rows: s.rows, cols: s.hidden)
        }
        results.append(.init(name: "LayerNorm backward (dx, dγ, dβ)", seconds: layerNormBackward,
                             bytes: 16 * Double(hiddenCount), gemmSeconds: denseGEMM))

        for m in results {
            log(String(format: "%@: %.3f ms, %.1f GB/s (%.3f GB/s per SGEMM GFLOP/s), %.1f%% of its GEMM's time",
                       m.name, m.seconds * 1e3, m.gigabytesPerSecond, m.gigabytesPerSecond / reference,
                       100 * m.seconds / m.gemmSeconds))
        }
        return results
    }

    /// Median thread-CPU seconds of `repeats` runs after two warm-ups (single-threaded work only: BLAS is set
    /// to one thread while kernels and their GEMMs are timed). Never inlined, so each timed closure is compiled
    /// on its own as a caller in another module would see the kernel, not folded into `run`'s huge body.
    @inline(never)
    static func time(repeats: Int = 15, _ body: () -> Void) -> Double {
        body(); body()
        var samples: [Double] = []
        for _ in 0..<repeats {
            let t0 = Clock.threadCPU()
            body()
            samples.append(Clock.threadCPU() - t0)
        }
        samples.sort()
        return samples[samples.count / 2]
    }

    /// Compares `count` outputs against a Double reference before anything is timed.
    private static func verify(_ name: String, count: Int, input: UnsafePointer<Float>,
                               output: () -> UnsafePointer<Float>, reference: (Double) -> Double,
                               tolerance: Double, log: (String) -> Void) {
        let y = output()
        var worst = 0.0
        for i in 0..<count { worst = max(worst, abs(Double(y[i]) - reference(Double(input[i])))) }
        log(String(format: "%@ check: max abs error %.2e vs Double reference (%@)", name, worst,
                   worst <= tolerance ? "ok" : "FAILED"))
    }
}
