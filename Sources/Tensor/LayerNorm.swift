/// LayerNorm over the last axis: y = (x − mean)·rstd·γ + β, rstd = 1/√(var + eps) with the biased variance
/// (PyTorch). Forward saves per-row mean and rstd, which is all backward needs besides x.
public enum LayerNorm {
    /// x, y: (rows, cols); gamma, beta: (cols); mean, rstd: (rows), written for backward. y may alias x.
    public static func forward(x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                               y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                               rstd: UnsafeMutablePointer<Float>, rows: Int, cols: Int, eps: Float) {
        for r in 0..<rows {
            normalizeRow(x + r * cols, gamma, beta, y + r * cols, mean + r, rstd + r, cols, eps)
        }
    }

    /// Fused residual add + LayerNorm (every BERT sublayer): sum = a + b is written (it is the LayerNorm input
    /// backward needs), then y = LN(sum). `sum` may alias a or b; y may not alias sum.
    public static func forward(adding a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                               sum: UnsafeMutablePointer<Float>,
                               gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                               y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                               rstd: UnsafeMutablePointer<Float>, rows: Int, cols: Int, eps: Float) {
        for r in 0..<rows {
            let s = sum + r * cols
            // The row is still in cache when normalised, so the add costs no extra memory pass.
            Elementwise.add(a + r * cols, b + r * cols, s, cols)
            normalizeRow(UnsafePointer(s), gamma, beta, y + r * cols, mean + r, rstd + r, cols, eps)
        }
    }

    @inline(__always)
    private static func normalizeRow(_ x: UnsafePointer<Float>, _ gamma: UnsafePointer<Float>,
                                     _ beta: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                     _ meanOut: UnsafeMutablePointer<Float>, _ rstdOut: UnsafeMutablePointer<Float>,
                                     _ cols: Int, _ eps: Float) {
        // Two passes (mean, then centred squares) rather than E[x²]−E[x]²: no cancellation when |mean| ≫ std.
        var sumLanes = Lanes()
        for (i, n) in Elementwise.chunks(cols) { sumLanes += Elementwise.load(x, i, n) }
        let mean = sumLanes.sum() / Float(cols)
        var squareLanes = Lanes()
        for (i, n) in Elementwise.chunks(cols) {
            let d = Elementwise.load(x, i, n, padding: mean) - mean  // padded lanes contribute 0
            squareLanes += d * d
        }
        let rstd = 1 / (squareLanes.sum() / Float(cols) + eps).squareRoot()
        for (i, n) in Elementwise.chunks(cols) {
            let normalized = (Elementwise.load(x, i, n) - mean) * rstd
            Elementwise.store(normalized * Elementwise.load(gamma, i, n) + Elementwise.load(beta, i, n), y, i, n)
        }
        meanOut.pointee = mean
        rstdOut.pointee = rstd
    }

    /// Accumulates dx += ∂L/∂x, dgamma += Σ_rows dy·x̂, dbeta += Σ_rows dy, with x̂ = (x − mean)·rstd.
    /// dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) where g = dy·γ. Pass nil for frozen γ/β (PELT keeps them frozen;
    /// BitFit trains β only).
    public static func backward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                                mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                gamma: UnsafePointer<Float>,
                                dx: UnsafeMutablePointer<Float>,
                                dgamma: UnsafeMutablePointer<Float>?, dbeta: UnsafeMutablePointer<Float>?,
                                rows: Int, cols: Int) {
        for r in 0..<rows {
            let xr = x + r * cols, gr = dy + r * cols, dr = dx + r * cols
            let mu = mean[r], rs = rstd[r]
            var gLanes = Lanes(), gxLanes = Lanes()
            for (i, n) in Elementwise.chunks(cols) {
                let g = Elementwise.load(gr, i, n) * Elementwise.load(gamma, i, n)
                let xhat = (Elementwise.load(xr, i, n) - mu) * rs
                gLanes += g
                gxLanes += g * xhat  // g is 0 in unused lanes, so no masking needed
                if let dgamma {
                    Elementwise.store(Elementwise.load(dgamma, i, n) + Elementwise.load(gr, i, n) * xhat, dgamma, i, n)
                }
                if let dbeta {
                    Elementwise.store(Elementwise.load(dbeta, i, n) + Elementwise.load(gr, i, n), dbeta, i, n)
                }
            }
            let gMean = gLanes.sum() / Float(cols), gxMean = gxLanes.sum() / Float(cols)
            for (i, n) in Elementwise.chunks(cols) {
                let g = Elementwise.load(gr, i, n) * Elementwise.load(gamma, i, n)
                let xhat = (Elementwise.load(xr, i, n) - mu) * rs
                let d = rs * (g - gMean - xhat * gxMean)
                Elementwise.store(Elementwise.load(UnsafePointer(dr), i, n) + d, dr, i, n)
            }
        }
    }
}
