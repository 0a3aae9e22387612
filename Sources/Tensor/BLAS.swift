import CBLAS
import Foundation

/// Whether a GEMM operand is used as stored or transposed.
public enum Transpose: Sendable {
    case none, transposed

    fileprivate var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// Row-major single-precision matrix products. The only place (with SGEMMProbe) that calls OpenBLAS.
public enum BLAS {
    /// C[m×n] = alpha·op(A)·op(B) + beta·C, all row-major. op(A) is m×k, op(B) is k×n.
    /// Leading dimensions default to the packed ones (A stored m×k, or k×m when transposed).
    /// `beta: 1` accumulates, which is how every backward adds its weight gradient.
    @inline(__always)
    public static func gemm(_ transA: Transpose, _ transB: Transpose,
                            m: Int, n: Int, k: Int,
                            alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int? = nil,
                            b: UnsafePointer<Float>, ldb: Int? = nil,
                            beta: Float = 0,
                            c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
        let lda = lda ?? Swift.max(1, transA == .none ? k : m)
        let ldb = ldb ?? Swift.max(1, transB == .none ? n : k)
        let ldc = ldc ?? Swift.max(1, n)
        precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative size m=\(m) n=\(n) k=\(k)")
        precondition(lda >= Swift.max(1, transA == .none ? k : m), "gemm: lda \(lda) too small")
        precondition(ldb >= Swift.max(1, transB == .none ? n : k), "gemm: ldb \(ldb) too small")
        precondition(ldc >= Swift.max(1, n), "gemm: ldc \(ldc) too small")
        if m == 0 || n == 0 { return }
        if k == 0 {
            // BLAS leaves C untouched only when beta == 1; make the k=0 case mean "scale C by beta".
            if beta != 1 {
                for row in 0..<m { Elementwise.scale(c + row * ldc, by: beta, n) }
            }
            return
        }
        // OpenBLAS does beta = 0 as a zeroing pass over C followed by its kernel's C += alpha·op(A)·op(B). Its
        // zeroing loop is slower than memset, which shows on attention's small per-head products (k = 32), so C
        // is zeroed here and the kernel adds into it: the same arithmetic, the same bits.
        var beta = beta
        if beta == 0 {
            if ldc == n { Buffer.zero(c, m * n) } else { for row in 0..<m { Buffer.zero(c + row * ldc, n) } }
            beta = 1
        }
        cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `count` independent products C_i = alpha·op(A_i)·op(B_i) + beta·C_i where X_i = X + i·strideX.
    /// OpenBLAS 0.3.21 has no batched sgemm, and per-head attention products (128×128×64) are too small for
    /// its threads to pay off, so this is a plain loop.
    public static func gemmBatched(_ transA: Transpose, _ transB: Transpose,
                                   count: Int, m: Int, n: Int, k: Int,
                                   alpha: Float = 1,
                                   a: UnsafePointer<Float>, lda: Int? = nil, strideA: Int,
                                   b: UnsafePointer<Float>, ldb: Int? = nil, strideB: Int,
                                   beta: Float = 0,
                                   c: UnsafeMutablePointer<Float>, ldc: Int? = nil, strideC: Int) {
        gemmBatched(transA, transB, batches: count, heads: 1, m: m, n: n, k: k, alpha: alpha,
                    a: a, lda: lda, strideA: BatchStride(batch: strideA, head: 0),
                    b: b, ldb: ldb, strideB: BatchStride(batch: strideB, head: 0),
                    beta: beta, c: c, ldc: ldc, strideC: BatchStride(batch: strideC, head: 0))
    }

    /// Offsets between consecutive batch and head operands of a two-level batched product.
    public struct BatchStride: Sendable {
        public var batch: Int
        public var head: Int
        public init(batch: Int, head: Int) { self.batch = batch; self.head = head }
    }

    /// batches × heads products, operand X_{b,h} = X + b·strideX.batch + h·strideX.head. This is attention on
    /// (B, T, H) activations without transposing: head h of Q is the column block at h·headDim with lda = H,
    /// scores are (B, heads, T, T) blocks. Example, S = Q·Kᵀ/√d:
    /// `gemmBatched(.none, .transposed, batches: B, heads: nh, m: T, n: T, k: d, alpha: 1/√d,
    ///  a: q, lda: H, strideA: .init(batch: T·H, head: d), b: k, ldb: H, strideB: .init(batch: T·H, head: d),
    ///  c: s, strideC: .init(batch: nh·T·T, head: T·T))`.
    public static func gemmBatched(_ transA: Transpose, _ transB: Transpose,
                                   batches: Int, heads: Int, m: Int, n: Int, k: Int,
                                   alpha: Float = 1,
                                   a: UnsafePointer<Float>, lda: Int? = nil, strideA: BatchStride,
                                   b: UnsafePointer<Float>, ldb: Int? = nil, strideB: BatchStride,
                                   beta: Float = 0,
                                   c: UnsafeMutablePointer<Float>, ldc: Int? = nil, strideC: BatchStride) {
        for batch in 0..<batches {
            for head in 0..<heads {
                gemm(transA, transB, m: m, n: n, k: k, alpha: alpha,
                     a: a + batch * strideA.batch + head * strideA.head, lda: lda,
                     b: b + batch * strideB.batch + head * strideB.head, ldb: ldb,
                     beta: beta, c: c + batch * strideC.batch + head * strideC.head, ldc: ldc)
            }
        }
    }

    /// OpenBLAS's worker-thread count (process-wide).
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Sets OpenBLAS's worker-thread count for the whole process.
    public static func setThreads(_ count: Int) {
        precondition(count >= 1, "BLAS thread count must be positive, got \(count)")
        openblas_set_num_threads(Int32(count))
    }

    /// OpenBLAS's build description (core type, thread model), for benchmark headers.
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// The kernel set OpenBLAS chose for this CPU at load time ("Zen", "SkylakeX", …).
    public static var coreName: String { String(cString: openblas_get_corename()) }
}

/// The machine's current SGEMM rate. Benchmarks divide their own rates by it, because this machine's speed
/// drifts 10–30% from day to day and a ratio is comparable where an absolute figure is not.
public enum SGEMMProbe {
    public struct Result: Sendable, CustomStringConvertible {
        public let threads: Int
        public let size: Int
        public let runs: Int
        /// Median over the timed runs.
        public let gflops: Double
        public let bestGFLOPS: Double
        /// With one thread the product runs on the calling thread and is timed in that thread's CPU time, so
        /// other processes on a shared machine do not count; with more it is wall-clock time.
        public let threadCPUTime: Bool
        public var description: String {
            String(format: "SGEMM %d×%d×%d, %d thread%@: %.1f GFLOP/s median (best %.1f, %d runs, %@ time)",
                   size, size, size, threads, threads == 1 ? "" : "s", gflops, bestGFLOPS, runs,
                   threadCPUTime ? "thread CPU" : "wall")
        }
    }

    /// Times square `size`³ products for about `seconds` after two warm-up runs, with `threads` BLAS threads
    /// (restored afterwards).
    public static func measure(threads: Int, size: Int = 1024, seconds: Double = 1.0) -> Result {
        let previous = BLAS.threads
        BLAS.setThreads(threads)
        defer { BLAS.setThreads(previous) }
        let a = Tensor(shape: size, size), b = Tensor(shape: size, size), c = Tensor(shape: size, size)
        var rng = RNG(seed: 1)
        rng.fillUniform(a.mutableData, a.count, from: -1, to: 1)
        rng.fillUniform(b.mutableData, b.count, from: -1, to: 1)
        let flops = 2.0 * Double(size) * Double(size) * Double(size)
        let product = {
            BLAS.gemm(.none, .none, m: size, n: size, k: size, a: a.data, b: b.data, c: c.mutableData)
        }
        let threadCPUTime = threads == 1
        let clock = threadCPUTime ? Clock.threadCPU : Clock.now
        product(); product()
        var rates: [Double] = []
        let start = Clock.now()
        repeat {
            let t0 = clock()
            product()
            rates.append(flops / (clock() - t0) / 1e9)
        } while Clock.now() - start < seconds || rates.count < 3
        rates.sort()
        return Result(threads: threads, size: size, runs: rates.count, gflops: rates[rates.count / 2],
                      bestGFLOPS: rates.last!, threadCPUTime: threadCPUTime)
    }

    /// Median GFLOP/s of a ~1 s probe.
    public static func measureGFLOPS(threads: Int) -> Double { measure(threads: threads).gflops }
}

/// Seconds for benchmarks.
enum Clock {
    /// Monotonic wall-clock time.
    static func now() -> Double { read(CLOCK_MONOTONIC) }

    /// CPU time of the calling thread: on a machine shared with other processes it counts only the time this
    /// thread ran, so single-threaded kernel timings do not absorb the neighbours' load.
    static func threadCPU() -> Double { read(CLOCK_THREAD_CPUTIME_ID) }

    private static func read(_ clock: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
