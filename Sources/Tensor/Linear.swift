/// y = x·Wᵀ + b with PyTorch's weight layout W: (outFeatures, inFeatures).
public enum Linear {
    /// x: (rows, inFeatures), weight: (outFeatures, inFeatures), bias: (outFeatures) or nil,
    /// out: (rows, outFeatures). The bias is written first and the product added with beta=1, so the
    /// bias costs one streaming write instead of a second pass.
    public static func forward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               out: UnsafeMutablePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int) {
        if let bias {
            for r in 0..<rows { Buffer.copy(bias, out + r * outFeatures, outFeatures) }
        }
        BLAS.gemm(.none, .transposed, m: rows, n: outFeatures, k: inFeatures,
                  a: x, b: weight, beta: bias == nil ? 0 : 1, c: out)
    }

    /// Accumulates dx += dout·W, dweight += doutᵀ·x, dbias += column sums of dout. Pass nil for what is not
    /// needed: a frozen layer skips dweight/dbias and still passes dx on; the first layer may skip dx.
    public static func backward(dout: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                dx: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?,
                                dbias: UnsafeMutablePointer<Float>?,
                                rows: Int, inFeatures: Int, outFeatures: Int) {
        if let dx {
            BLAS.gemm(.none, .none, m: rows, n: inFeatures, k: outFeatures,
                      a: dout, b: weight, beta: 1, c: dx)
        }
        if let dweight {
            BLAS.gemm(.transposed, .none, m: outFeatures, n: inFeatures, k: rows,
                      a: dout, b: x, beta: 1, c: dweight)
        }
        if let dbias { Bias.backward(dout: dout, dbias: dbias, rows: rows, cols: outFeatures) }
    }
}
