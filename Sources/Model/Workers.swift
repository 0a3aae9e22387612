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
