import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The HTTP/1.1 server: a listener, a poll loop thread, a bounded set of handler threads and a thread per
/// running stream (see `EventLoop`). Create it with a configuration and a router, `start()` it, and
/// `shutdown(gracePeriod:)` it:
///
///     var router = Router()
///     router.get("/v1/jobs/{job_id}") { request in
///         guard let job = store.job(request.pathParameters["job_id"]!) else { throw APIError.jobNotFound }
///         return try .json(job)
///     }
///     router.post("/v1/jobs", options: RouteOptions(bodyRequired: true, requiredContentType: "application/json")) {
///         request in try .json(create(from: request.body), status: .created)
///     }
///     let server = Server(configuration: configuration, router: router)
///     try server.start()
///     ...
///     server.shutdown(gracePeriod: 10)
///
/// Errors thrown by handlers that conform to `HTTPErrorConvertible` become the JSON error body; any other
/// error becomes a 500 and a `ServerLog.failure` line.
public final class Server: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Numeric or named address; `::` or `::1` for IPv6. Default `127.0.0.1`.
        public var host = "127.0.0.1"
        /// 0 picks a free port (tests); read the result from `Server.port`. Default 8080.
        public var port = 8080
        public var limits = Limits()
        /// Threads running handlers; bounds concurrent handlers, not connections. Default 8.
        public var workerThreads = 8
        public var log: ServerLog = StandardErrorLog()

        public init() {}
    }

    public let configuration: Configuration
    private let router: Router
    private let clock: any MonotonicClock
    private let lock = NSLock()
    private(set) var running: (loop: EventLoop, handlers: HandlerThreads, thread: Thread)?
    private var boundPort = 0

    public convenience init(configuration: Configuration, router: Router) {
        self.init(configuration: configuration, router: router, clock: UptimeClock())
    }

    /// `clock` times deadlines and the loop heartbeat; tests pass one they move by hand.
    init(configuration: Configuration, router: Router, clock: any MonotonicClock) {
        self.configuration = configuration
        self.router = router
        self.clock = clock
    }

    /// The port actually bound, once started.
    public var port: Int {
        lock.lock()
        defer { lock.unlock() }
        return boundPort
    }

    /// Seconds since the poll loop last turned, nil when not running. It turns at least four times a second
    /// while healthy, so a large value means the loop is wedged.
    public var secondsSinceLoopTurn: Double? {
        lock.lock()
        let loop = running?.loop
        lock.unlock()
        return loop?.secondsSinceLastTurn
    }

    /// Binds and starts serving; returns at once.
    public func start() throws(SocketError) {
        lock.lock()
        let alreadyRunning = running != nil
        lock.unlock()
        precondition(!alreadyRunning, "Server.start() called twice")
        // A peer that vanishes must not kill the process; writes also pass MSG_NOSIGNAL.
        signal(SIGPIPE, SIG_IGN)
        let (listener, port) = try Socket.listen(host: configuration.host, port: configuration.port)
        let handlers = HandlerThreads(threads: configuration.workerThreads, name: "http-worker")
        let loop: EventLoop
        do {
            loop = try EventLoop(listener: listener, limits: configuration.limits, clock: clock, handlers: handlers,
                                 router: router, log: configuration.log)
        } catch {
            close(listener)
            handlers.stop(deadline: Date(timeIntervalSinceNow: 1))
            throw error
        }
        let thread = Thread { loop.run() }
        thread.name = "http-event-loop"
        thread.start()
        lock.lock()
        running = (loop, handlers, thread)
        boundPort = port
        lock.unlock()
    }

    /// Stops accepting, closes idle connections, tells streams to stop, and lets in-flight requests finish for
    /// up to `gracePeriod` seconds; then aborts what is left. Returns when the server's threads have ended,
    /// or about a second later if a handler or stream producer ignores all that (it then holds only its own
    /// connection, closed when it returns).
    public func shutdown(gracePeriod: TimeInterval) {
        lock.lock()
        let current = running
        running = nil
        lock.unlock()
        guard let (loop, handlers, _) = current else { return }
        loop.beginShutdown()
        if !loop.waitUntilNoConnections(deadline: Date(timeIntervalSinceNow: gracePeriod)) {
            loop.abortRemaining()
            _ = loop.waitUntilNoConnections(deadline: Date(timeIntervalSinceNow: min(1, gracePeriod)))
        }
        loop.stop()
        if !handlers.stop(deadline: Date(timeIntervalSinceNow: 1)) {
            configuration.log.failure("shutdown: a handler is still running past the grace period", requestID: nil)
        }
    }
}
