import Foundation
import Tensor

/// A model's own worker threads for a step's independent work (samples, row blocks). Threads are started
/// once and woken by semaphores (Dispatch's concurrentPerform allocates on every call). What
/// remains is one 32-byte closure context per multi-worker call, because `withoutActuallyEscaping` keeps the
/// caller's closure off the stack; with one worker the step allocates nothing. One pool belongs to one model
/// and is driven by one thread at a time.
final class WorkerPool: @unchecked Sendable {
    /// Workers including the calling thread.
    let count: Int
    private let wake: [DispatchSemaphore]
    private let finished = DispatchSemaphore(value: 0)
    /// The current job; set before waking the workers, cleared after they all finished.
    private var job: ((Int) -> Void)?
    private var stopping = false

    init(count: Int) {
        self.count = max(1, count)
        wake = (1..<self.count).map { _ in DispatchSemaphore(value: 0) }
        for worker in 1..<self.count {
            let thread = Thread { [unowned self] in self.serve(worker) }
            thread.name = "model-worker-\(worker)"
            thread.start()
        }
    }

    deinit {
        stopping = true
        for semaphore in wake { semaphore.signal() }
        for _ in wake { finished.wait() }
    }

    private func serve(_ worker: Int) {
        while true {
            wake[worker - 1].wait()
            if stopping { finished.signal(); return }
            job!(worker)
            finished.signal()
        }
    }

    /// body(worker) for worker in 0..<min(workers, count), concurrently; worker 0 runs on the caller.
    func run(_ workers: Int, _ body: (Int) -> Void) {
        let n = min(workers, count)
        if n <= 1 { body(0); return }
        withoutActuallyEscaping(body) { body in
            job = body
            for w in 1..<n { wake[w - 1].signal() }
            body(0)
            for _ in 1..<n { finished.wait() }
            job = nil
        }
    }

    /// Rows 0..<rows in contiguous blocks, one per worker (no split below 16 rows a block).
    func rows(_ rows: Int, _ body: (Range<Int>) -> Void) {
        let n = max(1, min(count, rows / 16))
        run(n) { w in body((rows * w / n)..<(rows * (w + 1) / n)) }
    }
}

// TODO(tensor): move — a BLAS product guaranteed to run on the calling thread.
enum CallerThreadGEMM {
    /// OpenBLAS 0.3.21 computes a product on the calling thread when m·n·k ≤ 65536·4 (interface/gemm.c:
    /// SMP_THRESHOLD_MIN × GEMM_MULTITHREAD_THRESHOLD) and otherwise hands it to its thread pool, whose
    /// wake-up costs more than a (T×T×d) head product computes. Splitting rows keeps every call under the
    /// threshold, so per-sample attention runs concurrently on our own workers.
    static let maxWork = 262_144

    /// BLAS.gemm with op(A)'s rows (and C's) processed in blocks.
    static func gemm(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1,
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
