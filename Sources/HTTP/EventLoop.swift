import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One thread waiting in `poll` for every socket that has nothing to do: the listener, idle keep-alive
/// connections, connections part-way through a request, and closing connections draining client bytes.
/// A readable connection leaves the poll set and goes to the handler threads, which own it until they arm
/// it here again, so there is one owner at a time and an idle connection costs a table entry, never a thread.
/// The same thread enforces the idle, header and body deadlines of the connections it waits for (the rules
/// are `ConnectionRegistry`'s; this class does the polling, locking and socket work around them), and backs
/// off accept on EMFILE so a full descriptor table does not spin the CPU. (`poll` rather than epoll: Swift's
/// Glibc module does not export sys/epoll.h. A wake-up costs time in proportion to the watched descriptors,
/// so idle keep-alive connections move to cold slots polled less often; see `PollSet`.)
final class EventLoop: @unchecked Sendable {
    let limits: Limits
    let clock: any MonotonicClock
    let handlers: HandlerThreads
    private let router: Router
    private let log: ServerLog
    private let wakePipe: (read: Int32, write: Int32)
    private let listener: Int32

    /// Guards everything below; internal so that tests can wedge the loop by holding it.
    let lock = NSCondition()
    private var registry: ConnectionRegistry<Connection>
    private var wakePending = false
    private var streams: [ObjectIdentifier: ResponseStream] = [:]
    private var loopExited = false
    /// When the loop last started a turn (monotonic seconds); it turns at least every `deadlineCheckInterval`.
    /// Under its own lock, so that it can be read while the loop is stuck holding `lock`.
    private var lastTurn: Double
    private let lastTurnLock = NSLock()

    // Touched by the loop thread only.
    private var pollSet: PollSet
    private var listenerOpen = true
    private var acceptBackoff = AcceptBackoff()
    private var acceptResumesAt: Double?

    init(listener: Int32, limits: Limits, clock: any MonotonicClock, handlers: HandlerThreads, router: Router,
         log: ServerLog) throws(SocketError) {
        self.listener = listener
        self.limits = limits
        self.clock = clock
        self.handlers = handlers
        registry = ConnectionRegistry(limits: limits, clock: clock)
        lastTurn = clock.now
        self.router = router
        self.log = log
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SocketError("pipe") }
        for descriptor in fds {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        wakePipe = (fds[0], fds[1])
        pollSet = PollSet(wake: fds[0], listener: listener)
    }

    /// How often deadlines are checked: a fraction of the shortest timeout, so tests with short timeouts see
    /// them fire promptly and a server with the defaults wakes a few times a second at most.
    private var deadlineCheckInterval: Double {
        let shortest = [limits.idleTimeout, limits.headerTimeout, limits.bodyTimeout, limits.lingerTimeout].min()!
        return min(0.25, max(0.005, shortest / 10))
    }

    /// Seconds since the loop last turned: a few tenths at most while it is healthy, growing when it is
    /// wedged (the service withholds its systemd watchdog ping then).
    var secondsSinceLastTurn: Double {
        lastTurnLock.lock()
        defer { lastTurnLock.unlock() }
        return clock.now - lastTurn
    }

    // MARK: The loop thread

    /// How often cold (idle keep-alive) connections are polled while others are busy: the most a request on
    /// a long-idle connection waits before it is seen, under load.
    static let coldPollInterval = 0.01

    func run() {
        var nextDeadlineCheck = 0.0
        var nextColdPoll = 0.0
        var ready: [UInt64] = []
        while true {
            lock.lock()
            // Taken with `lock` held, so a loop stuck on that lock counts as not turning from then on.
            lastTurnLock.lock()
            lastTurn = clock.now
            lastTurnLock.unlock()
            if registry.isStopped { lock.unlock(); break }
            let joining = registry.takeNewlyWaiting()
            let stopping = registry.isShuttingDown
            lock.unlock()
            for connection in joining { pollSet.add(connection.id, descriptor: connection.descriptor) }
            if stopping && listenerOpen {
                // Closing the listener makes new clients fail fast instead of waiting in the backlog.
                listenerOpen = false
                pollSet.setListener(-1)
                Glibc.close(listener)
            }

            // Cold slots join when due, or whenever nothing is hot (then waiting on them costs nothing extra).
            let started = clock.now
            var timeout = deadlineCheckInterval
            let includeCold = !pollSet.hasHotConnections || started >= nextColdPoll
            if includeCold {
                nextColdPoll = started + Self.coldPollInterval
            } else {
                timeout = min(timeout, nextColdPoll - started)
            }
            let polled = includeCold ? pollSet.entries.count : pollSet.hotCount
            let milliseconds = Int32((timeout * 1000).rounded(.up))
            let count = pollSet.entries.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t(polled), milliseconds) }
            if count < 0 && errno != EINTR { break }
            if count > 0 {
                ready.removeAll(keepingCapacity: true)
                for index in PollSet.firstConnectionSlot..<polled where pollSet.entries[index].revents != 0 {
                    ready.append(pollSet.ids[index])
                }
                if pollSet.entries[PollSet.wakeSlot].revents != 0 { drainWakePipe() }
                if pollSet.entries[PollSet.listenerSlot].revents != 0 { acceptConnections() }
                ready.forEach(readable)
            }
            let now = clock.now
            if now >= nextDeadlineCheck || stopping {
                nextDeadlineCheck = now + deadlineCheckInterval
                expireDeadlines(now: now)
            }
        }
        lock.lock()
        loopExited = true
        lock.broadcast()
        lock.unlock()
    }

    private func acceptConnections() {
        for _ in 0..<128 {
            let descriptor = accept(listener, nil, nil)
            if descriptor < 0 {
                let code = errno
                if code == EINTR || code == ECONNABORTED { continue }
                if code == EAGAIN || code == EWOULDBLOCK { return }
                // EMFILE, ENFILE, ENOBUFS, ENOMEM: the listener stays readable, so stop polling it for a while
                // instead of spinning; pending clients wait in the backlog.
                let delay = acceptBackoff.next()
                acceptResumesAt = clock.now + delay
                pollSet.setListener(-1)
                log.failure("accept: \(String(cString: strerror(code))); retrying in \(Int(delay * 1000)) ms", requestID: nil)
                return
            }
            acceptBackoff.reset()
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            var one: Int32 = 1
            setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            lock.lock()
            let admitted = registry.admit { id in
                Connection(id: id, descriptor: descriptor, loop: self, router: router, log: log, limits: limits)
            }
            lock.unlock()
            guard let admitted else {
                Glibc.close(descriptor)
                continue
            }
            pollSet.add(admitted.id, descriptor: descriptor)
        }
    }

    private func readable(_ id: UInt64) {
        lock.lock()
        let readiness = registry.takeReadable(id)
        lock.unlock()
        switch readiness {
        case .serve(let connection):
            pollSet.remove(id)
            handlers.submit { connection.serve() }
        case .drain(let connection):
            if !connection.discardInput() {
                pollSet.remove(id)
                close(connection)
            }
        case .notWaiting:
            pollSet.remove(id)
        }
    }

    /// Takes connections whose deadline passed (and, while stopping, idle ones) out of the poll set.
    private func expireDeadlines(now: Double) {
        if let resume = acceptResumesAt, now >= resume {
            acceptResumesAt = nil
            if listenerOpen { pollSet.setListener(listener) }
        }
        lock.lock()
        let (expired, cooled) = registry.expire()
        lock.unlock()
        cooled.forEach { pollSet.cool($0) }
        for (connection, expiry) in expired {
            pollSet.remove(connection.id)
            switch expiry {
            case .requestTimeout: handlers.submit { connection.requestTimedOut() }
            case .close: close(connection)
            }
        }
    }

    /// Empties the pipe, then allows the next wake-up. In that order: a wake-up skipped because one was
    /// pending is covered by the poll-set update at the top of the next iteration.
    private func drainWakePipe() {
        // `wakePending` lets at most one byte into the pipe, so one read empties it.
        var byte: UInt8 = 0
        _ = read(wakePipe.read, &byte, 1)
        lock.lock()
        wakePending = false
        lock.unlock()
    }

    /// Interrupts `poll` so the loop picks up changes. Call with `lock` held.
    private func wakeLocked() {
        guard !wakePending else { return }
        wakePending = true
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
    }

    // MARK: Called by connection owners

    /// Hands a connection back to the poll set until it is readable or `deadline` passes. During shutdown an
    /// idle connection is closed instead.
    func arm(_ connection: Connection, deadline: Double, expiry: Expiry) {
        lock.lock()
        let armed = registry.arm(connection.id, deadline: deadline, expiry: expiry)
        if armed { wakeLocked() }
        lock.unlock()
        if !armed { close(connection) }
    }

    /// Half-closes after a final response and drains client bytes until EOF or the linger deadline, so the
    /// client reads the response rather than a reset caused by its own unread bytes.
    func linger(_ connection: Connection) {
        shutdown(connection.descriptor, Int32(SHUT_WR))
        lock.lock()
        let lingering = registry.linger(connection.id)
        if lingering { wakeLocked() }
        lock.unlock()
        if !lingering { close(connection) }
    }

    /// Closes a connection its owner is done with. Waiting connections are closed by the loop only, after it
    /// removed them from its poll set.
    func close(_ connection: Connection) {
        connection.dropBody()
        lock.lock()
        registry.remove(connection.id)
        lock.broadcast()
        lock.unlock()
        Glibc.close(connection.descriptor)
    }

    var isShuttingDown: Bool {
        lock.lock()
        defer { lock.unlock() }
        return registry.isShuttingDown
    }

    /// Registers a stream unless `Limits.maxConcurrentStreams` are already running or the server is stopping.
    func register(_ stream: ResponseStream) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard streams.count < limits.maxConcurrentStreams, !registry.isShuttingDown else { return false }
        streams[ObjectIdentifier(stream)] = stream
        return true
    }

    func unregister(_ stream: ResponseStream) {
        lock.lock()
        streams[ObjectIdentifier(stream)] = nil
        lock.unlock()
    }

    // MARK: Shutdown

    /// Stops accepting, closes idle connections (both on the loop thread) and tells streams to stop.
    /// In-flight requests continue.
    func beginShutdown() {
        lock.lock()
        registry.beginShutdown()
        let running = Array(streams.values)
        wakeLocked()
        lock.unlock()
        running.forEach { $0.stop() }
    }

    /// Waits until every connection has closed or `deadline` passes; returns whether all closed.
    func waitUntilNoConnections(deadline: Date) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        while !registry.isEmpty {
            if !lock.wait(until: deadline) { break }
        }
        return registry.isEmpty
    }

    /// Makes every remaining socket fail its next read or write, so owners finish and close it. The owners
    /// close the descriptors themselves, which keeps a descriptor number from being reused under them.
    func abortRemaining() {
        lock.lock()
        let remaining = registry.members
        lock.unlock()
        for connection in remaining { shutdown(connection.descriptor, Int32(SHUT_RDWR)) }
    }

    /// Ends the loop thread, waits for it, and closes what it still owned.
    func stop() {
        lock.lock()
        registry.stop()
        wakeLocked()
        while !loopExited { lock.wait() }
        // Waiting connections belonged to the loop, which has exited.
        let remaining = registry.removeWaiting()
        lock.unlock()
        remaining.forEach {
            $0.dropBody()
            Glibc.close($0.descriptor)
        }
        if listenerOpen { Glibc.close(listener) }
        Glibc.close(wakePipe.read)
        Glibc.close(wakePipe.write)
    }
}
