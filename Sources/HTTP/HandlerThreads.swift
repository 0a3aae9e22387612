import Foundation

/// The threads that run request handlers: a fixed number, taking submitted work in order. Connections are
/// handed here only when they have bytes to process, so the thread count bounds concurrent handlers, not
/// open connections.
final class HandlerThreads: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [() -> Void] = []
    private var head = 0
    private var stopping = false
    private var running = 0

    init(threads: Int, name: String) {
        running = threads
        for index in 0..<threads {
            let thread = Thread { [self] in work() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    func submit(_ job: @escaping () -> Void) {
        condition.lock()
        queue.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Lets queued work finish, then ends the threads, waiting for them until `deadline`. Returns whether
    /// all ended; a thread stuck in a handler past the deadline ends on its own once the handler returns.
    @discardableResult
    func stop(deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        stopping = true
        condition.broadcast()
        while running > 0 {
            if !condition.wait(until: deadline) { break }
        }
        return running == 0
    }

    private func work() {
        condition.lock()
        while true {
            while head == queue.count && !stopping { condition.wait() }
            if head == queue.count {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let job = queue[head]
            head += 1
            if head > 1024 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job()
            condition.lock()
        }
    }
}
