import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why a stream no longer accepts writes.
public enum StreamClosed: Error, Equatable, Sendable {
    case clientDisconnected
    case shuttingDown
    case writeTimedOut
    case finished
}

/// The writing end of a streamed response, safe to use from any thread. A producer writes events, checks
/// `isOpen` (or sleeps in `waitUntilClosed`) and returns when done; the server sends keep-alives meanwhile,
/// which is also how it notices a client that went away without a word. The closure given to
/// `Response.stream` may also hand the stream to another thread (a job's event feed) and wait: that thread
/// calls `finish()` after the last event, which wakes the waiting closure.
public final class ResponseStream: @unchecked Sendable {
    public let format: StreamFormat
    private let descriptor: Int32
    private let writeTimeout: TimeInterval
    /// HTTP/1.1 streams are chunked; HTTP/1.0 streams are delimited by closing the connection.
    private let chunked: Bool
    /// Guards `closedReason` and wakes `waitUntilClosed`.
    private let state = NSCondition()
    private var closedReason: StreamClosed?
    /// Serialises writes; the keep-alive timer skips its turn while a producer write is in progress.
    private let writeLock = NSLock()
    private var lastWrite = DispatchTime.now()
    private var keepAliveTimer: DispatchSourceTimer?
    private(set) var bytesWritten = 0

    init(format: StreamFormat, descriptor: Int32, chunked: Bool, writeTimeout: TimeInterval) {
        self.format = format
        self.descriptor = descriptor
        self.chunked = chunked
        self.writeTimeout = writeTimeout
    }

    /// False once the client has gone, a write failed, the server is shutting down or the stream finished.
    public var isOpen: Bool {
        if closedReason(checkingPeer: true) == nil { return true }
        return false
    }

    /// Why the stream closed, or nil while it is open (without probing the socket, unlike `isOpen`).
    public var closeReason: StreamClosed? { closedReason(checkingPeer: false) }

    /// Sends one server-sent event. `id` and `event` must be single lines; `data` may span lines.
    public func send(event: String? = nil, id: String? = nil, data: String) throws(StreamClosed) {
        precondition(format == .eventStream, "send(event:id:data:) is for text/event-stream")
        var record = ""
        if let id {
            precondition(!id.contains(where: \.isNewline), "event ids are single lines")
            record += "id: \(id)\n"
        }
        if let event {
            precondition(!event.contains(where: \.isNewline), "event names are single lines")
            record += "event: \(event)\n"
        }
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) {
            record += "data: \(line.hasSuffix("\r") ? line.dropLast() : line)\n"
        }
        record += "\n"
        try write(Array(record.utf8))
    }

    /// Sends one NDJSON line; `json` is one serialised JSON value, without newlines.
    public func sendLine(_ json: [UInt8]) throws(StreamClosed) {
        precondition(format == .ndjson, "sendLine is for application/x-ndjson")
        precondition(!json.contains(ASCII.lf), "an NDJSON line holds no newline")
        try write(json + [ASCII.lf])
    }

    /// Sends raw bytes of the stream's format as they are.
    public func write(_ bytes: [UInt8]) throws(StreamClosed) {
        guard !bytes.isEmpty else { return }
        writeLock.lock()
        defer { writeLock.unlock() }
        try writeLocked(bytes)
    }

    /// Says the last event was sent: later writes throw `.finished`, waiters wake, and the response ends
    /// cleanly once the `Response.stream` closure returns.
    public func finish() { close(.finished) }

    /// Sleeps until the stream closes or `timeout` passes; returns whether it closed. Producers that poll
    /// for new data sleep here, so shutdown, disconnects and `finish()` wake them at once.
    public func waitUntilClosed(timeout: TimeInterval = .infinity) -> Bool {
        // An infinite wait has no deadline at all: a Date far in the future overflows NSCondition on Linux.
        let deadline = timeout.isFinite ? Date(timeIntervalSinceNow: timeout) : nil
        state.lock()
        defer { state.unlock() }
        while closedReason == nil {
            if let deadline {
                if !state.wait(until: deadline) { break }
            } else {
                state.wait()
            }
        }
        return closedReason != nil
    }

    // MARK: Server side

    func startKeepAlive(interval: TimeInterval) {
        let timer = DispatchSource.makeTimerSource(queue: .global())
        let nanoseconds = Int(interval * 1_000_000_000)
        timer.schedule(deadline: .now() + .nanoseconds(nanoseconds), repeating: .nanoseconds(nanoseconds),
                       leeway: .nanoseconds(nanoseconds / 10))
        timer.setEventHandler { [weak self] in self?.keepAliveTick(interval: nanoseconds) }
        keepAliveTimer = timer
        timer.resume()
    }

    /// Tells the producer to stop (server shutdown).
    func stop() { close(.shuttingDown) }

    /// Ends the response after the producer returned: the last chunk if the stream is still healthy.
    /// Returns whether the client got a complete response; after this no write reaches the socket.
    func end() -> Bool {
        keepAliveTimer?.cancel()
        writeLock.lock()
        defer { writeLock.unlock() }
        // A stream finished by its producer or stopped for shutdown ends cleanly, so the client sees a
        // complete response; a vanished client or a stalled write does not.
        let reason = closedReason(checkingPeer: false)
        guard reason == nil || reason == .shuttingDown || reason == .finished else { return false }
        if chunked {
            do { try Socket.writeAll(descriptor, Array("0\r\n\r\n".utf8), timeout: writeTimeout) } catch {
                close(.clientDisconnected)
                return false
            }
        }
        close(.finished)
        return true
    }

    /// Checks for a departed client and, if the producer has been quiet for an interval, writes a keep-alive
    /// (idle proxies drop silent connections, and a write to a reset peer fails where a peek may not).
    private func keepAliveTick(interval: Int) {
        guard closedReason(checkingPeer: true) == nil, let keepAlive = format.keepAliveBytes, writeLock.try() else { return }
        defer { writeLock.unlock() }
        let idle = DispatchTime.now().uptimeNanoseconds - lastWrite.uptimeNanoseconds
        if idle >= UInt64(interval) * 9 / 10 {
            try? writeLocked(keepAlive)
        }
    }

    private func writeLocked(_ bytes: [UInt8]) throws(StreamClosed) {
        if let reason = closedReason(checkingPeer: false) { throw reason }
        let framed = chunked ? Array((String(bytes.count, radix: 16) + "\r\n").utf8) + bytes + [ASCII.cr, ASCII.lf] : bytes
        do {
            try Socket.writeAll(descriptor, framed, timeout: writeTimeout)
        } catch {
            let reason: StreamClosed = error == .timedOut ? .writeTimedOut : .clientDisconnected
            close(reason)
            throw reason
        }
        bytesWritten += bytes.count
        lastWrite = DispatchTime.now()
    }

    private func closedReason(checkingPeer: Bool) -> StreamClosed? {
        state.lock()
        defer { state.unlock() }
        if closedReason == nil && checkingPeer && Socket.peerHasGone(descriptor) {
            closedReason = .clientDisconnected
            state.broadcast()
        }
        return closedReason
    }

    private func close(_ reason: StreamClosed) {
        state.lock()
        if closedReason == nil { closedReason = reason }
        state.broadcast()
        state.unlock()
    }
}
