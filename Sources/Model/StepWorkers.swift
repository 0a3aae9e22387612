import Foundation
import Tensor

/// A model's own worker threads for a step's independent work: pieces of matrix products, samples, row
/// blocks. Threads are started once and woken by semaphores (Dispatch's concurrentPerform allocates on every
/// call). What remains is one 32-byte closure context per multi-worker call, because
/// `withoutActuallyEscaping` keeps the caller's closure off the stack; with one worker the step allocates
/// nothing. One pool belongs to one model and is driven by one thread at a time.
final class StepWorkers: @unchecked Sendable {
    /// What the threads share with the pool. The threads hold it, not the pool, so they can still read it
    /// while the pool's deinit stops them.
    private final class Crew: @unchecked Sendable {
        let wake: [DispatchSemaphore]
        let finished = DispatchSemaphore(value: 0)
        /// The current job; set before waking the workers, cleared after they all finished.
        var job: ((Int) -> Void)?
        var stopping = false

        init(helpers: Int) { wake = (0..<helpers).map { _ in DispatchSemaphore(value: 0) } }

        func serve(_ worker: Int) {
            while true {
                wake[worker - 1].wait()
                if stopping { finished.signal(); return }
                job!(worker)
                finished.signal()
            }
        }
    }

    /// Workers including the calling thread.
    let count: Int
    private let crew: Crew
    /// Calls that woke helper threads so far. Each allocates the closure context described above; by this count
    /// Tests/TrainingTests/StepAllocationTests.swift tells those apart from any other allocation in a step.
    private(set) var multiWorkerCalls = 0

    init(count: Int) {
        self.count = max(1, count)
        let crew = Crew(helpers: self.count - 1)
        self.crew = crew
        for worker in 1..<self.count {
            let thread = Thread { crew.serve(worker) }
            thread.name = "model-worker-\(worker)"
            thread.start()
        }
    }

    deinit {
        crew.stopping = true
        for semaphore in crew.wake { semaphore.signal() }
        for _ in crew.wake { crew.finished.wait() }
    }

    /// body(worker) for worker in 0..<min(workers, count), concurrently; worker 0 runs on the caller.
    func run(_ workers: Int, _ body: (Int) -> Void) {
        let n = min(workers, count)
        if n <= 1 { body(0); return }
        multiWorkerCalls += 1
        withoutActuallyEscaping(body) { body in
            crew.job = body
            for w in 1..<n { crew.wake[w - 1].signal() }
            body(0)
            for _ in 1..<n { crew.finished.wait() }
            crew.job = nil
        }
    }

    /// 0..<total in contiguous blocks of at least `minimum`, one per worker (fewer when total is small).
    func blocks(_ total: Int, minimum: Int, _ body: (Range<Int>) -> Void) {
        let n = max(1, min(count, total / max(1, minimum)))
        run(n) { w in body((total * w / n)..<(total * (w + 1) / n)) }
    }

    /// 0..<total cut into `pieces` fixed blocks (the cut does not depend on the worker count), the blocks
    /// shared out over the workers in contiguous runs.
    func pieces(_ total: Int, pieces: Int, _ body: (Range<Int>) -> Void) {
        let pieces = max(1, min(pieces, total))
        run(pieces) { w in
            let n = min(count, pieces)
            for p in (pieces * w / n)..<(pieces * (w + 1) / n) { body((total * p / pieces)..<(total * (p + 1) / pieces)) }
        }
    }

    /// Rows 0..<rows in contiguous blocks, one per worker (no split below 16 rows a block).
    func rows(_ rows: Int, _ body: (Range<Int>) -> Void) { blocks(rows, minimum: 16, body) }

    /// Multiply-adds below which a product piece is not worth waking a worker for.
    private static let minimumPieceWork = 1 << 18
    /// Most pieces a product is cut into.
    private static let maximumPieces = 4

    /// BLAS.gemm's C = alpha·op(A)·op(B) + beta·C with C cut into row blocks (column blocks when C is wider
    /// than tall), one single-threaded OpenBLAS call per block, the blocks shared over the workers. The model
    /// runs OpenBLAS on one thread and parallelises here: OpenBLAS's own pool spins between calls and would
    /// fight these workers for the cores. The cut depends on the shape only, never on the worker count,
    /// because OpenBLAS's rounding depends on the shape it is given: this keeps results bit-identical for
    /// any number of threads.
    func gemm(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1,
              a: UnsafePointer<Float>, lda: Int? = nil, b: UnsafePointer<Float>, ldb: Int? = nil,
              beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
        let lda = lda ?? max(1, transA == .none ? k : m)
        let ldb = ldb ?? max(1, transB == .none ? n : k)
        let ldc = ldc ?? max(1, n)
        func cut(_ length: Int, otherWork: Int) -> Int {
            min(StepWorkers.maximumPieces, length / max(16, StepWorkers.minimumPieceWork / max(1, otherWork)))
        }
        if m >= n {
            pieces(m, pieces: cut(m, otherWork: n * k)) { r in
                BLAS.gemm(transA, transB, m: r.count, n: n, k: k, alpha: alpha,
                          a: transA == .none ? a + r.lowerBound * lda : a + r.lowerBound, lda: lda, b: b, ldb: ldb,
                          beta: beta, c: c + r.lowerBound * ldc, ldc: ldc)
            }
        } else {
            pieces(n, pieces: cut(n, otherWork: m * k)) { r in
                BLAS.gemm(transA, transB, m: m, n: r.count, k: k, alpha: alpha, a: a, lda: lda,
                          b: transB == .none ? b + r.lowerBound : b + r.lowerBound * ldb, ldb: ldb,
                          beta: beta, c: c + r.lowerBound, ldc: ldc)
            }
        }
    }
}
