/// A BLAS product guaranteed to run on the calling thread, for callers that parallelise themselves.
public enum CallerThreadGEMM {
    /// OpenBLAS 0.3.21 computes a product on the calling thread when m·n·k ≤ 65536·4 (interface/gemm.c:
    /// SMP_THRESHOLD_MIN × GEMM_MULTITHREAD_THRESHOLD) and otherwise hands it to its thread pool, whose
    /// wake-up costs more than a (T×T×d) head product computes. Splitting rows keeps every call under the
    /// threshold, so per-sample attention runs concurrently on our own workers.
    public static let maxWork = 262_144

    /// BLAS.gemm with op(A)'s rows (and C's) processed in blocks.
    public static func gemm(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                     c: UnsafeMutablePointer<Float>, ldc: Int) {
        let block = max(1, maxWork / max(1, n * k))
        var row = 0
        while row < m {
            let rows = min(block, m - row)
            let aRows = transA == .none ? a + row * lda : a + row
            BLAS.gemm(transA, transB, m: rows, n: n, k: k, alpha: alpha, a: aRows, lda: lda, b: b, ldb: ldb,
                      beta: beta, c: c + row * ldc, ldc: ldc)
            row += rows
        }
    }
}
