import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One client socket: reads bytes into the parser, runs one request at a time through the router, writes
/// the response and decides whether the connection can be reused (keep-alive, pipelining). Owned by one thread at
/// a time (see `ConnectionRegistry`); that ownership guards everything here.
final class Connection: @unchecked Sendable {
    let id: UInt64
    let descriptor: Int32

    /// Strong: a stream thread may outlive `Server.shutdown` and still needs the loop to close its socket.
    /// The cycle through the loop's table ends when the connection closes.
    private let loop: EventLoop
    private let router: Router
    private let log: ServerLog
    private let limits: Limits
    private var parser: RequestParser
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Time of the first byte of the request being read; the header timeout runs from it.
    private var requestStartedAt: Double?
    /// Time the head was complete; the body timeout runs from it.
    private var bodyStartedAt = 0.0
    /// The client shut down its sending side; requests already received are still answered.
    private var peerClosedWrite = false
    private var pending: PendingRequest?
    /// Where the body of the pending request goes when its route streams it, and how much went there.
    private var sink: (any BodySink)?
    private var sinkBytes = 0

    /// A request whose head is parsed and whose body is being read.
    private struct PendingRequest {
        let head: RequestHead
        let requestID: String
        let startedAt: Double
        /// Set when the head alone decided the answer (404, 405, 411...); sent once the (empty) body is read.
        let earlyError: Error?
        let match: Router.Match?
    }

    private static let readSize = 64 * 1024

    init(id: UInt64, descriptor: Int32, loop: EventLoop, router: Router, log: ServerLog, limits: Limits) {
        self.id = id
        self.descriptor = descriptor
        self.loop = loop
        self.router = router
        self.log = log
        self.limits = limits
        self.parser = RequestParser(limits: limits)
    }

    // MARK: Reading

    /// Runs on a worker thread when the socket is readable (or a stream ended): reads, answers every complete
    /// request, then gives the socket back to the loop, closes it, or has handed it to a stream thread.
    func serve() {
        guard processBuffer() else { return }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readSize, alignment: 16)
        defer { scratch.deallocate() }
        while true {
            let received = recv(descriptor, scratch.baseAddress, Self.readSize, 0)
            if received > 0 {
                buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<received]))
                guard processBuffer() else { return }
                // A short read means the socket is drained; the loop's poll will say when more arrives.
                if received < Self.readSize { return armForNextBytes() }
                continue
            }
            if received == 0 {
                peerClosedWrite = true
                return endOfInput()
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return armForNextBytes()
            default: return loop.close(self)
            }
        }
    }

    /// The client closed its sending side: answer a cut-off body with a 400; otherwise just close.
    private func endOfInput() {
        if parser.isReadingBody {
            respondAndClose(to: ParseError.incompleteBody, head: pending?.head)
        } else {
            loop.close(self)
        }
    }

    private func armForNextBytes() {
        let (deadline, expiry) = Self.deadline(readingBody: parser.isReadingBody, requestStartedAt: requestStartedAt,
                                               bodyStartedAt: bodyStartedAt, now: loop.clock.now, limits: limits,
                                               streamedBytes: sink == nil ? nil : sinkBytes)
        loop.arm(self, deadline: deadline, expiry: expiry)
    }

    /// When a connection waiting for bytes gives up, and how: the body timeout runs from the end of the head
    /// (a streamed body gets more time for every byte received, see `Limits.minStreamedBodyBytesPerSecond`),
    /// the header timeout from the first byte of the request, the idle timeout from now. Pure, for tests.
    static func deadline(readingBody: Bool, requestStartedAt: Double?, bodyStartedAt: Double, now: Double,
                         limits: Limits, streamedBytes: Int? = nil) -> (deadline: Double, expiry: Expiry) {
        if readingBody {
            let earned = streamedBytes.map { Double($0) / Double(max(1, limits.minStreamedBodyBytesPerSecond)) } ?? 0
            return (bodyStartedAt + limits.bodyTimeout + earned, .requestTimeout)
        }
        if let started = requestStartedAt { return (started + limits.headerTimeout, .requestTimeout) }
        return (now + limits.idleTimeout, .close)
    }

    /// Parses and answers what is buffered. Returns false when the connection was closed or handed off.
    private func processBuffer() -> Bool {
        while true {
            if requestStartedAt == nil && readIndex < buffer.count { requestStartedAt = loop.clock.now }
            let event: RequestParser.Event
            do {
                let (parsed, consumed) = try buffer.withUnsafeBufferPointer { (bytes) throws(ParseError) in
                    try parser.parse(UnsafeBufferPointer(rebasing: bytes[readIndex...]))
                }
                readIndex += consumed
                event = parsed
            } catch {
                respondAndClose(to: error, head: pending?.head)
                return false
            }
            switch event {
            case .needMore:
                guard drainIntoSink() else { return false }
                if readIndex == buffer.count {
                    // An idle connection should not keep the capacity a large body once needed.
                    buffer.removeAll(keepingCapacity: buffer.capacity <= 2 * Self.readSize)
                    readIndex = 0
                } else if readIndex > 32 * 1024 {
                    buffer.removeSubrange(0..<readIndex)
                    readIndex = 0
                }
                return true
            case .head(let head):
                guard beginRequest(head) else { return false }
            case .body(let body):
                guard finishRequest(body: body) else { return false }
            }
        }
    }

    /// Decides from the head alone whatever can be decided before reading the body: route, body policy and
    /// limit (413 before a byte of body), `100 Continue`.
    private func beginRequest(_ head: RequestHead) -> Bool {
        bodyStartedAt = loop.clock.now
        let requestID = RequestID.make()
        var match: Router.Match?
        var earlyError: Error?
        do throws(HTTPError) {
            let path = head.target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
            match = try router.route(method: head.method, segments: try PercentDecoding.pathSegments(String(path)),
                                     hasFraming: head.framing != .none, hasBody: head.hasBody,
                                     contentType: head.headers["content-type"])
        } catch {
            earlyError = error
        }
        let startedAt = requestStartedAt ?? bodyStartedAt
        let pending = PendingRequest(head: head, requestID: requestID, startedAt: startedAt, earlyError: earlyError, match: match)
        self.pending = pending
        if let earlyError, head.hasBody {
            // The body would have to be read and thrown away; closing is simpler and safe.
            respondAndClose(to: earlyError, head: head, requestID: requestID)
            return false
        }
        if earlyError == nil, let match, match.route.options.bodySink != nil {
            let made: Result<(any BodySink)?, Router.ResponseFailure>
            do throws(HTTPError) {
                made = Router.makeSink(match, try makeRequest(pending, body: []), log: log)
            } catch {
                made = .failure(Router.ResponseFailure(response: ErrorRendering.response(for: error, requestID: requestID)))
            }
            switch made {
            case .success(let created):
                sink = created
                sinkBytes = 0
            case .failure(let refusal):
                // Refused from the head: the body is not read, and the connection cannot be reused without it.
                respondAndClose(with: refusal.response, head: head, requestID: requestID)
                return false
            }
        }
        do {
            try parser.beginBody(maxBytes: match?.route.options.maxBodyBytes ?? limits.maxBodyBytes, streaming: sink != nil)
        } catch {
            respondAndClose(to: error, head: head, requestID: requestID)
            return false
        }
        if head.expectsContinue && head.hasBody && readIndex == buffer.count {
            do { try Socket.writeAll(descriptor, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8), timeout: limits.writeTimeout) } catch {
                loop.close(self)
                return false
            }
        }
        return true
    }

    /// Moves the body bytes decoded so far into the sink of a streamed request; a failing sink (a full disk)
    /// ends the request with an error. Returns false when the connection was closed.
    private func drainIntoSink() -> Bool {
        guard let sink else { return true }
        do {
            try parser.takeBody { bytes in
                try sink.write(bytes)
                sinkBytes += bytes.count
            }
            return true
        } catch {
            failStreamedBody(error)
            return false
        }
    }

    private func failStreamedBody(_ error: Error) {
        log.failure("request body not stored: \(error)", requestID: pending?.requestID ?? "-")
        respondAndClose(to: error, head: pending?.head, requestID: pending?.requestID ?? RequestID.make())
    }

    /// Runs the handler for a complete request and writes its response.
    private func finishRequest(body: [UInt8]) -> Bool {
        guard let pending else { preconditionFailure("body event without a pending request") }
        let streamed = sink
        if let streamed {
            do {
                try body.withUnsafeBytes { try streamed.write($0) }
                try streamed.finish()
            } catch {
                failStreamedBody(error)
                return false
            }
        }
        sink = nil
        self.pending = nil
        requestStartedAt = nil
        let response: Response
        if let earlyError = pending.earlyError {
            response = ErrorRendering.response(for: earlyError, requestID: pending.requestID)
        } else {
            response = run(pending, body: streamed == nil ? body : [], sink: streamed)
        }
        streamed?.discard()
        let keepAlive = pending.head.keepAlive && !loop.isShuttingDown
        return send(response, for: pending.head, requestID: pending.requestID, startedAt: pending.startedAt,
                    keepAlive: keepAlive)
    }

    private func run(_ pending: PendingRequest, body: [UInt8], sink: (any BodySink)?) -> Response {
        guard let match = pending.match else { preconditionFailure("request without a route") }
        do throws(HTTPError) {
            var request = try makeRequest(pending, body: body)
            request.bodySink = sink
            return Router.run(match, request, log: log)
        } catch {
            return ErrorRendering.response(for: error, requestID: pending.requestID)
        }
    }

    private func makeRequest(_ pending: PendingRequest, body: [UInt8]) throws(HTTPError) -> Request {
        let head = pending.head
        return try Request(method: head.method, target: head.target, version: head.version, headers: head.headers,
                           body: body, requestID: pending.requestID)
    }

    /// Drops the streamed body of a request that will not complete; the loop calls it when it closes the
    /// connection, so a client that vanished mid-body leaves nothing behind.
    func dropBody() {
        sink?.discard()
        sink = nil
    }

    static func loggablePath(_ target: String) -> String {
        String(target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0])
    }

    // MARK: Errors and timeouts

    /// Answers a request that cannot go on (a parse error, an early 4xx with a body pending, a timeout) and
    /// closes: after such an error the connection's framing can no longer be trusted.
    private func respondAndClose(to error: Error, head: RequestHead?, requestID: String = RequestID.make()) {
        respondAndClose(with: ErrorRendering.response(for: error, requestID: requestID), head: head, requestID: requestID)
    }

    private func respondAndClose(with response: Response, head: RequestHead?, requestID: String) {
        dropBody()
        _ = send(response, for: head, requestID: requestID, startedAt: requestStartedAt ?? loop.clock.now, keepAlive: false)
    }

    /// Called on a worker when the loop found the header or body deadline passed.
    func requestTimedOut() {
        let error = HTTPError(status: .requestTimeout, code: "request_timeout", message: "request not received in time")
        respondAndClose(to: error, head: pending?.head)
    }

    /// Reads and drops client bytes on a lingering connection; returns false on EOF or error.
    func discardInput() -> Bool {
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let received = recv(descriptor, &scratch, scratch.count, Int32(MSG_DONTWAIT))
            if received > 0 { continue }
            return received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
        }
    }

    // MARK: Writing

    /// Writes `response` and decides the connection's fate. Returns true when the caller may go on reading
    /// requests; false when the connection was closed, is lingering, or belongs to a stream thread now.
    private func send(_ response: Response, for head: RequestHead?, requestID: String, startedAt: Double,
                      keepAlive requestedKeepAlive: Bool) -> Bool {
        var response = response
        let version = head?.version ?? .http11
        let isHead = head?.method == "HEAD"
        var keepAlive = requestedKeepAlive
        var stream: ResponseStream?
        if case .stream(let format, _) = response.body, !isHead {
            let candidate = ResponseStream(format: format, descriptor: descriptor, chunked: version == .http11,
                                           writeTimeout: limits.writeTimeout)
            if loop.register(candidate) {
                stream = candidate
                if version == .http10 { keepAlive = false }
            } else {
                response = ErrorRendering.response(
                    for: HTTPError.serviceUnavailable(code: loop.isShuttingDown ? "shutting_down" : "too_many_streams",
                                                      "no stream capacity", retryAfterSeconds: 5),
                    requestID: requestID)
            }
        }
        let serialized = ResponseSerializer.head(response, version: version, isHeadRequest: isHead,
                                                 keepAlive: keepAlive, requestID: requestID)
        var bodyBytes = 0
        var written = true
        do {
            switch response.body {
            case .bytes(let bytes) where serialized.sendsBody:
                try Socket.writeAll(descriptor, serialized.bytes + bytes, timeout: limits.writeTimeout)
                bodyBytes = bytes.count
            case .file(let file) where serialized.sendsBody:
                try Socket.writeAll(descriptor, serialized.bytes, timeout: limits.writeTimeout)
                try sendFile(file, sent: &bodyBytes)
            default:
                try Socket.writeAll(descriptor, serialized.bytes, timeout: limits.writeTimeout)
            }
        } catch {
            written = false
        }

        let method = head?.method ?? "-"
        let path = head.map { Self.loggablePath($0.target) } ?? "-"
        if let stream, case .stream(_, let produce) = response.body {
            guard written else {
                loop.unregister(stream)
                logAccess(method, path, response.status, bodyBytes, startedAt, requestID)
                loop.close(self)
                return false
            }
            startStreamThread(stream, produce: produce, keepAlive: keepAlive) { [self] bytes in
                logAccess(method, path, response.status, bytes, startedAt, requestID)
            }
            return false
        }
        logAccess(method, path, response.status, bodyBytes, startedAt, requestID)
        if !written {
            loop.close(self)
            return false
        }
        if !keepAlive {
            loop.linger(self)
            return false
        }
        return true
    }

    /// Streams the file in 64 KiB chunks; `sent` counts the bytes written, also when a write fails.
    private func sendFile(_ file: FileBody, sent offset: inout Int) throws(WriteFailure) {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while offset < file.length {
            let count = chunk.withUnsafeMutableBytes { pread(file.descriptor, $0.baseAddress, min($0.count, file.length - offset), off_t(offset)) }
            // The file shrank under us: the promised length can no longer be met, so the connection must end.
            guard count > 0 else { throw .disconnected }
            try chunk.withUnsafeBytes { bytes in
                Result { () throws(WriteFailure) in
                    try Socket.writeAll(descriptor, UnsafeRawBufferPointer(rebasing: bytes[0..<count]), timeout: limits.writeTimeout)
                }
            }.get()
            offset += count
        }
    }

    /// Streams run on a thread of their own so a long-lived stream never holds a handler thread.
    private func startStreamThread(_ stream: ResponseStream, produce: @escaping @Sendable (ResponseStream) -> Void,
                                   keepAlive: Bool, finished: @escaping (Int) -> Void) {
        let thread = Thread { [self] in
            stream.startKeepAlive(interval: limits.streamKeepAliveInterval)
            produce(stream)
            let complete = stream.end()
            loop.unregister(stream)
            finished(stream.bytesWritten)
            // HTTP/1.0 streams end by closing (keepAlive is false for them), so only chunked ones are reused.
            if complete && keepAlive && !loop.isShuttingDown {
                loop.handlers.submit { self.serve() }
            } else if complete {
                loop.linger(self)
            } else {
                loop.close(self)
            }
        }
        thread.name = "http-stream-\(id)"
        thread.start()
    }

    private func logAccess(_ method: String, _ path: String, _ status: HTTPStatus, _ bytes: Int, _ startedAt: Double,
                           _ requestID: String) {
        log.access(AccessLogEntry(method: method, path: path, status: status.code, bytes: bytes,
                                  duration: loop.clock.now - startedAt, requestID: requestID))
    }
}
