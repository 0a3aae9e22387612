/// What the loop does with a connection whose wait for bytes ran out.
enum Expiry {
    /// Idle keep-alive, or a lingering close: close without a word.
    case close
    /// Part-way through a request: answer 408, then close.
    case requestTimeout
}

/// The open connections, who owns each one's socket, and when the ones waiting for bytes give up. Plain
/// state with no threads, sockets or locks: `EventLoop` keeps it under its lock and acts on what it returns
/// (poll, serve, close), so the ownership and deadline rules run on any `MonotonicClock`, a manual one in tests.
///
/// A connection is either waiting (armed for a request's bytes, or lingering after a final response), and
/// then the loop owns its socket; or busy, owned by the one worker or stream thread that took it. Only a
/// waiting connection can be taken, so there is one owner at a time.
struct ConnectionRegistry<Member> {
    /// How long a keep-alive connection waits for its next request before it turns cold (see `PollSet`).
    static var coolingDelay: Double { 0.1 }

    private enum Ownership: Equatable {
        /// Waiting for bytes; on `deadline` the loop takes it and acts on `expiry`.
        case armed(deadline: Double, expiry: Expiry)
        /// A worker or stream thread owns it.
        case busy
        /// Half-closed after a final response; client bytes are discarded until EOF or `deadline`.
        case lingering(deadline: Double)
    }

    private struct Entry {
        let member: Member
        var ownership: Ownership
    }

    /// What the loop does with a connection whose socket turned readable.
    enum Readiness {
        /// Was armed: now busy, owned by the caller, who hands it to a worker.
        case serve(Member)
        /// Is lingering: the caller discards its bytes, and closes it at EOF.
        case drain(Member)
        /// No longer waiting (busy or closed): the caller only drops it from its poll set.
        case notWaiting
    }

    let limits: Limits
    let clock: any MonotonicClock
    private var entries: [UInt64: Entry] = [:]
    /// Connections that started waiting since the loop last took them for its poll set.
    private var newlyWaiting: [UInt64] = []
    private var nextID: UInt64 = 1
    private(set) var isShuttingDown = false
    private(set) var isStopped = false

    init(limits: Limits, clock: any MonotonicClock) {
        self.limits = limits
        self.clock = clock
    }

    var isEmpty: Bool { entries.isEmpty }

    var members: [Member] { entries.values.map(\.member) }

    /// Registers a freshly accepted connection made by `make` from its id; one that never sends a byte is
    /// held to the idle timeout. Nil, and nothing registered, when full or shutting down.
    mutating func admit(_ make: (UInt64) -> Member) -> Member? {
        guard entries.count < limits.maxConnections, !isShuttingDown else { return nil }
        let id = nextID
        nextID += 1
        let member = make(id)
        entries[id] = Entry(member: member, ownership: .armed(deadline: clock.now + limits.idleTimeout, expiry: .close))
        return member
    }

    /// Takes the waiting connections that joined since the last call and are still waiting (one may have
    /// expired or closed since), for the poll set.
    mutating func takeNewlyWaiting() -> [Member] {
        defer { newlyWaiting.removeAll(keepingCapacity: true) }
        return newlyWaiting.compactMap { id in
            guard let entry = entries[id], entry.ownership != .busy else { return nil }
            return entry.member
        }
    }

    /// Decides what a readable socket means; an armed connection becomes busy, owned by the caller.
    mutating func takeReadable(_ id: UInt64) -> Readiness {
        guard let entry = entries[id] else { return .notWaiting }
        switch entry.ownership {
        case .armed:
            entries[id]?.ownership = .busy
            return .serve(entry.member)
        case .lingering:
            return .drain(entry.member)
        case .busy:
            return .notWaiting
        }
    }

    /// Hands a busy connection back to wait for bytes until `deadline`. False when the caller must close it
    /// instead: an idle one during shutdown, any one once stopped (nothing polls any more).
    mutating func arm(_ id: UInt64, deadline: Double, expiry: Expiry) -> Bool {
        if (isShuttingDown && expiry == .close) || isStopped { return false }
        wait(id, .armed(deadline: deadline, expiry: expiry))
        return true
    }

    /// Hands a busy, half-closed connection back to drain client bytes until the linger timeout. False when
    /// stopped; the caller closes it then.
    mutating func linger(_ id: UInt64) -> Bool {
        if isStopped { return false }
        wait(id, .lingering(deadline: clock.now + limits.lingerTimeout))
        return true
    }

    private mutating func wait(_ id: UInt64, _ ownership: Ownership) {
        entries[id]?.ownership = ownership
        newlyWaiting.append(id)
    }

    /// Forgets a connection its owner closed.
    mutating func remove(_ id: UInt64) {
        entries[id] = nil
    }

    /// Takes the waiting connections whose deadline passed (and, while shutting down, the idle ones), now
    /// busy and owned by the caller, with what to do with each; and lists the idle ones waiting longer than
    /// `coolingDelay`, which the caller may poll less often.
    mutating func expire() -> (expired: [(Member, Expiry)], cooled: [UInt64]) {
        let now = clock.now
        var expired: [(Member, Expiry)] = []
        var cooled: [UInt64] = []
        for (id, entry) in entries {
            switch entry.ownership {
            case .armed(_, .close) where isShuttingDown:
                expired.append((entry.member, .close))
            case .armed(let deadline, .close) where deadline > now:
                // Armed at deadline - idleTimeout, waiting for a next request.
                if deadline - limits.idleTimeout + Self.coolingDelay <= now { cooled.append(id) }
                continue
            case .armed(let deadline, let expiry) where deadline <= now:
                expired.append((entry.member, expiry))
            case .lingering(let deadline) where deadline <= now:
                expired.append((entry.member, .close))
            default:
                continue
            }
            entries[id]?.ownership = .busy
        }
        return (expired, cooled)
    }

    /// From now on idle connections are closed rather than kept, and no new ones are admitted.
    mutating func beginShutdown() {
        isShuttingDown = true
    }

    /// From now on nothing waits: every connection handed back must be closed by its owner.
    mutating func stop() {
        isStopped = true
    }

    /// Forgets and returns the waiting connections, whose sockets the caller then closes; for after the loop
    /// that polled them has stopped. Busy ones stay: their owners close them when their work returns.
    mutating func removeWaiting() -> [Member] {
        let waiting = entries.filter { $0.value.ownership != .busy }
        for id in waiting.keys { entries[id] = nil }
        return waiting.values.map(\.member)
    }
}
