import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Seconds on the monotonic clock.
func monotonicNow() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1_000_000_000
}

/// One thread waiting in `poll` for every socket that has nothing to do: the listener, idle keep-alive
/// connections, connections part-way through a request, and closing connections draining client bytes.
/// A readable connection leaves the poll set and goes to the worker pool, which owns it until it arms it
/// here again, so there is one owner at a time and an idle connection costs a table entry, never a thread.
/// The same thread enforces the idle, header and body deadlines of the connections it waits for, and backs
/// off accept on EMFILE so a full descriptor table does not spin the CPU. (`poll` rather than epoll: Swift's
/// Glibc module does not export sys/epoll.h. A wake-up costs time in proportion to the watched descriptors,
/// so idle keep-alive connections move to cold slots polled less often; see `PollSet`.)
final class EventLoop: @unchecked Sendable {
    /// Who may touch a connection's socket right now.
    enum Ownership {
        /// In the poll set; on `deadline` the loop takes it and runs `expiry`.
        case armed(deadline: Double, expiry: Expiry)
        /// A worker or stream thread owns it.
        case busy
        /// Half-closed after a final response; client bytes are discarded until EOF or `deadline`.
        case lingering(deadline: Double)
    }

    enum Expiry {
        /// Idle keep-alive: close without a word.
        case close
        /// Part-way through a request: answer 408, then close.
        case requestTimeout
    }

    let limits: Limits
    let pool: WorkerPool
    private let router: Router
    private let log: ServerLog
    private let wakePipe: (read: Int32, write: Int32)
    private let listener: Int32

    /// Guards everything below, and each connection's `ownership`.
    /// Guards the connection tables; internal so that tests can wedge the loop by holding it.
    let lock = NSCondition()
    private var connections: [UInt64: Connection] = [:]
    /// Connections the loop waits for (armed or lingering).
    private var watched: [UInt64: Connection] = [:]
    /// Connections armed since the loop last updated its poll set.
    private var newlyWatched: [Connection] = []
    private var wakePending = false
    private var streams: [ObjectIdentifier: ResponseStream] = [:]
    private var nextID: UInt64 = 1
    private var shuttingDown = false
    private var stopped = false
    private var loopExited = false
    /// When the loop last started a turn (monotonic seconds); it turns at least every `deadlineCheckInterval`.
    /// Under its own lock, so that it can be read while the loop is stuck holding `lock`.
    private var lastTurn = monotonicNow()
    private let lastTurnLock = NSLock()

    // Touched by the loop thread only.
    private var pollSet: PollSet
    private var listenerOpen = true
    private var acceptBackoff = AcceptBackoff()
    private var acceptResumesAt: Double?

    init(listener: Int32, limits: Limits, pool: WorkerPool, router: Router, log: ServerLog) throws(SocketError) {
        self.listener = listener
        self.limits = limits
        self.pool = pool
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
        return monotonicNow() - lastTurn
    }

    // MARK: The loop thread

    /// How often cold (idle keep-alive) connections are polled while others are busy: the most a request on
    /// a long-idle connection waits before it is seen, under load.
    static let coldPollInterval = 0.01
    /// How long a keep-alive connection waits for its next request before it turns cold.
    static let coolingDelay = 0.1

    func run() {
        var nextDeadlineCheck = 0.0
        var nextColdPoll = 0.0
        var ready: [UInt64] = []
        while true {
            lastTurnLock.lock()
            lastTurn = monotonicNow()
            lastTurnLock.unlock()
            lock.lock()
            if stopped { lock.unlock(); break }
            // A connection may have expired or closed since it was queued; only still-watched ones join.
            for connection in newlyWatched where watched[connection.id] === connection {
                pollSet.add(connection.id, descriptor: connection.descriptor)
            }
            newlyWatched.removeAll(keepingCapacity: true)
            let stopping = shuttingDown
            lock.unlock()
            if stopping && listenerOpen {
                // Closing the listener makes new clients fail fast instead of waiting in the backlog.
                listenerOpen = false
                pollSet.setListener(-1)
                Glibc.close(listener)
            }

            // Cold slots join when due, or whenever nothing is hot (then waiting on them costs nothing extra).
            let started = monotonicNow()
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
            let now = monotonicNow()
            if now >= nextDeadlineCheck || stopping {
                nextDeadlineCheck = now + deadlineCheckInterval
                expireDeadlines(now: now, stopping: stopping)
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
                acceptResumesAt = monotonicNow() + delay
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
            guard connections.count < limits.maxConnections, !shuttingDown else {
                lock.unlock()
                Glibc.close(descriptor)
                continue
            }
            let id = nextID
            nextID += 1
            let connection = Connection(id: id, descriptor: descriptor, loop: self, router: router, log: log, limits: limits)
            connections[id] = connection
            // A new connection that never sends a byte is held to the idle timeout.
            connection.ownership = .armed(deadline: monotonicNow() + limits.idleTimeout, expiry: .close)
            watched[id] = connection
            lock.unlock()
            pollSet.add(id, descriptor: descriptor)
        }
    }

    private func readable(_ id: UInt64) {
        lock.lock()
        guard let connection = watched[id] else {
            lock.unlock()
            pollSet.remove(id)
            return
        }
        switch connection.ownership {
        case .armed:
            connection.ownership = .busy
            watched[id] = nil
            lock.unlock()
            pollSet.remove(id)
            pool.submit { connection.serve() }
        case .lingering:
            lock.unlock()
            if !connection.discardInput() {
                pollSet.remove(id)
                close(connection)
            }
        case .busy:
            lock.unlock()
            pollSet.remove(id)
        }
    }

    /// Takes connections whose deadline passed (and, while stopping, idle ones) out of the poll set.
    private func expireDeadlines(now: Double, stopping: Bool) {
        if let resume = acceptResumesAt, now >= resume {
            acceptResumesAt = nil
            if listenerOpen { pollSet.setListener(listener) }
        }
        var expired: [(Connection, Expiry?)] = []
        var cooled: [UInt64] = []
        lock.lock()
        for (id, connection) in watched {
            switch connection.ownership {
            case .armed(_, .close) where stopping:
                expired.append((connection, .close))
            case .armed(let deadline, .close) where deadline > now:
                // Armed at deadline - idleTimeout, waiting for a next request.
                if deadline - limits.idleTimeout + Self.coolingDelay <= now { cooled.append(id) }
                continue
            case .armed(let deadline, let expiry) where deadline <= now:
                expired.append((connection, expiry))
            case .lingering(let deadline) where deadline <= now:
                expired.append((connection, nil))
            default:
                continue
            }
            connection.ownership = .busy
            watched[id] = nil
        }
        lock.unlock()
        cooled.forEach { pollSet.cool($0) }
        for (connection, expiry) in expired {
            pollSet.remove(connection.id)
            switch expiry {
            case .requestTimeout?: pool.submit { connection.requestTimedOut() }
            case .close?, nil: close(connection)
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
        // After stop() nothing polls any more, so a connection handed back then is closed instead.
        if (shuttingDown && expiry == .close) || stopped {
            lock.unlock()
            close(connection)
            return
        }
        watch(connection, .armed(deadline: deadline, expiry: expiry))
        lock.unlock()
    }

    /// Half-closes after a final response and drains client bytes until EOF or the linger deadline, so the
    /// client reads the response rather than a reset caused by its own unread bytes.
    func linger(_ connection: Connection) {
        shutdown(connection.descriptor, Int32(SHUT_WR))
        lock.lock()
        if stopped {
            lock.unlock()
            close(connection)
            return
        }
        watch(connection, .lingering(deadline: monotonicNow() + limits.lingerTimeout))
        lock.unlock()
    }

    /// Queues a connection for the poll set. Call with `lock` held.
    private func watch(_ connection: Connection, _ ownership: Ownership) {
        connection.ownership = ownership
        watched[connection.id] = connection
        newlyWatched.append(connection)
        wakeLocked()
    }

    /// Closes a connection its owner is done with. Watched connections are closed by the loop only, after it
    /// removed them from its poll set.
    func close(_ connection: Connection) {
        lock.lock()
        connections[connection.id] = nil
        watched[connection.id] = nil
        lock.broadcast()
        lock.unlock()
        Glibc.close(connection.descriptor)
    }

    var isShuttingDown: Bool {
        lock.lock()
        defer { lock.unlock() }
        return shuttingDown
    }

    /// Registers a stream unless `Limits.maxConcurrentStreams` are already running or the server is stopping.
    func register(_ stream: ResponseStream) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard streams.count < limits.maxConcurrentStreams, !shuttingDown else { return false }
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
        shuttingDown = true
        let running = Array(streams.values)
        wakeLocked()
        lock.unlock()
        running.forEach { $0.stop() }
    }

    /// Waits until every connection has closed or `deadline` passes; returns whether all closed.
    func waitUntilNoConnections(deadline: Date) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        while !connections.isEmpty {
            if !lock.wait(until: deadline) { break }
        }
        return connections.isEmpty
    }

    /// Makes every remaining socket fail its next read or write, so owners finish and close it. The owners
    /// close the descriptors themselves, which keeps a descriptor number from being reused under them.
    func abortRemaining() {
        lock.lock()
        let remaining = Array(connections.values)
        lock.unlock()
        for connection in remaining { shutdown(connection.descriptor, Int32(SHUT_RDWR)) }
    }

    /// Ends the loop thread, waits for it, and closes what it still owned.
    func stop() {
        lock.lock()
        stopped = true
        wakeLocked()
        while !loopExited { lock.wait() }
        // Watched connections belonged to the loop, which has exited; a busy one belongs to a thread that
        // will close it when its work returns.
        let remaining = Array(watched.values)
        for connection in remaining { connections[connection.id] = nil }
        watched.removeAll()
        lock.unlock()
        remaining.forEach { Glibc.close($0.descriptor) }
        if listenerOpen { Glibc.close(listener) }
        Glibc.close(wakePipe.read)
        Glibc.close(wakePipe.write)
    }
}

/// The descriptors the loop polls. Slots `0..<hotCount` are hot: the wake pipe, the listener (-1 while
/// paused or closed, which `poll` skips) and recently armed connections. The rest are cold: keep-alive
/// connections idle for a while, which the loop polls only every `EventLoop.coldPollInterval` while hot
/// traffic flows, so a thousand idle clients do not tax every request. Add, remove and cool are O(1) swaps.
struct PollSet {
    static let wakeSlot = 0, listenerSlot = 1, firstConnectionSlot = 2

    /// Settable so `poll` can write `revents`; slots are rearranged only through the methods below.
    var entries: [pollfd]
    private(set) var ids: [UInt64]
    private(set) var hotCount = firstConnectionSlot
    private var slots: [UInt64: Int] = [:]

    init(wake: Int32, listener: Int32) {
        entries = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0), pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
        ids = [0, 0]
    }

    var hasHotConnections: Bool { hotCount > Self.firstConnectionSlot }

    func isHot(_ id: UInt64) -> Bool { slots[id].map { $0 < hotCount } ?? false }

    mutating func setListener(_ descriptor: Int32) {
        entries[Self.listenerSlot].fd = descriptor
    }

    /// Adds a connection as hot.
    mutating func add(_ id: UInt64, descriptor: Int32) {
        guard slots[id] == nil else { return }
        entries.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0))
        ids.append(id)
        slots[id] = entries.count - 1
        swapSlots(entries.count - 1, hotCount)
        hotCount += 1
    }

    mutating func remove(_ id: UInt64) {
        guard let slot = slots[id] else { return }
        var hole = slot
        if slot < hotCount {
            swapSlots(slot, hotCount - 1)
            hotCount -= 1
            hole = hotCount
        }
        swapSlots(hole, entries.count - 1)
        slots[id] = nil
        entries.removeLast()
        ids.removeLast()
    }

    /// Moves a hot connection to the cold slots.
    mutating func cool(_ id: UInt64) {
        guard let slot = slots[id], slot < hotCount else { return }
        swapSlots(slot, hotCount - 1)
        hotCount -= 1
    }

    private mutating func swapSlots(_ a: Int, _ b: Int) {
        guard a != b else { return }
        entries.swapAt(a, b)
        ids.swapAt(a, b)
        slots[ids[a]] = a
        slots[ids[b]] = b
    }
}

/// Accept retry delays after resource errors: 5 ms doubling up to 1 s, as Go's `Serve` does.
struct AcceptBackoff {
    private(set) var delay: Double = 0

    mutating func next() -> Double {
        delay = delay == 0 ? 0.005 : min(1, delay * 2)
        return delay
    }

    mutating func reset() { delay = 0 }
}
