/// HTTP version of a request; only 1.0 and 1.1 exist for this server.
public enum HTTPVersion: String, Sendable {
    case http10 = "HTTP/1.0"
    case http11 = "HTTP/1.1"
}

/// How the body of a request is delimited.
public enum BodyFraming: Equatable, Sendable {
    case none
    case contentLength(Int)
    case chunked
}

/// A parsed request line and header section, validated and with its framing decided.
public struct RequestHead: Sendable, Equatable {
    public let method: String
    public let target: String
    public let version: HTTPVersion
    public let headers: HTTPHeaders
    public let framing: BodyFraming
    /// Whether the client allows the connection to stay open after this request.
    public let keepAlive: Bool
    /// `Expect: 100-continue` on an HTTP/1.1 request.
    public let expectsContinue: Bool

    /// Whether body bytes follow the head.
    public var hasBody: Bool { framing != .none && framing != .contentLength(0) }
}

/// Incremental, strict HTTP/1.1 request parser. Bytes in, events out: no sockets, no clock.
///
/// Use: call `parse` with the unread bytes; it returns how many it consumed and an event. After `.head` the
/// caller picks the body limit (it may depend on the route) with `beginBody(maxBytes:)`, then keeps calling
/// `parse` (also with no new bytes: an empty body completes at once) until `.body`. The parser then expects
/// the next request on the same connection.
public struct RequestParser {
    public enum Event: Equatable {
        case needMore
        case head(RequestHead)
        case body([UInt8])
    }

    private enum State {
        /// `scanned` bytes were checked by earlier calls; the request line ends at `requestLineEnd` if known.
        case head(scanned: Int, requestLineEnd: Int?)
        case awaitingBodyLimit
        case contentLength(remaining: Int)
        case chunked(ChunkedDecoder)
    }

    public let limits: Limits
    private var state = State.head(scanned: 0, requestLineEnd: nil)
    private var body: [UInt8] = []
    /// The head of the request being read, from its `.head` event until its `.body` event.
    private var head: RequestHead?

    public init(limits: Limits) {
        self.limits = limits
    }

    /// True when no byte of a next request has been consumed or scanned: the connection is idle.
    public var isBetweenRequests: Bool {
        if case .head(let scanned, _) = state { return scanned == 0 }
        return false
    }

    /// True while the body of the current request is being read.
    public var isReadingBody: Bool {
        switch state {
        case .contentLength, .chunked: return true
        case .head, .awaitingBodyLimit: return false
        }
    }

    public mutating func parse(_ input: UnsafeBufferPointer<UInt8>) throws(ParseError) -> (event: Event, consumed: Int) {
        switch state {
        case .head(let scanned, var requestLineEnd):
            guard let end = try Self.findHeadEnd(input, from: scanned, requestLineEnd: &requestLineEnd, limits: limits) else {
                state = .head(scanned: input.count, requestLineEnd: requestLineEnd)
                return (.needMore, 0)
            }
            let parsed = try HeadParser.parse(UnsafeBufferPointer(rebasing: input[0..<end]), limits: limits)
            head = parsed
            state = .awaitingBodyLimit
            return (.head(parsed), end)
        case .awaitingBodyLimit:
            preconditionFailure("beginBody(maxBytes:) must follow a .head event")
        case .contentLength(let remaining):
            let take = min(remaining, input.count)
            body.append(contentsOf: UnsafeBufferPointer(rebasing: input[0..<take]))
            if take == remaining { return (finishBody(), take) }
            state = .contentLength(remaining: remaining - take)
            return (.needMore, take)
        case .chunked(var decoder):
            let consumed = try decoder.decode(input, into: &body)
            if decoder.isDone { return (finishBody(), consumed) }
            state = .chunked(decoder)
            return (.needMore, consumed)
        }
    }

    /// Sets the body limit for the current request; a declared length over it fails before any body byte is read.
    /// `streaming`: the caller takes the body as it is decoded (`takeBody`), so no room is reserved for all of it.
    public mutating func beginBody(maxBytes: Int, streaming: Bool = false) throws(ParseError) {
        guard case .awaitingBodyLimit = state, let head else { preconditionFailure("beginBody without a head") }
        body = []
        switch head.framing {
        case .none, .contentLength(0):
            state = .contentLength(remaining: 0)
        case .contentLength(let length):
            guard length <= maxBytes else { throw .bodyTooLarge }
            if !streaming { body.reserveCapacity(length) }
            state = .contentLength(remaining: length)
        case .chunked:
            state = .chunked(ChunkedDecoder(maxBodyBytes: maxBytes, maxTrailerBytes: limits.maxHeaderBytes))
        }
    }

    /// Hands the body bytes decoded since the last call to `consume` and forgets them, so a streamed body is
    /// never held whole; the `.body` event then carries only the bytes not taken yet.
    public mutating func takeBody(_ consume: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard !body.isEmpty else { return }
        defer { body.removeAll(keepingCapacity: true) }
        try body.withUnsafeBytes { try consume($0) }
    }

    private mutating func finishBody() -> Event {
        let complete = body
        body = []
        head = nil
        state = .head(scanned: 0, requestLineEnd: nil)
        return .body(complete)
    }

    /// Finds the end of the header section (just past CRLFCRLF), enforcing line endings and size limits
    /// while scanning, so an endless or malformed head fails as soon as it is known to be bad. Bytes before
    /// `start` were checked by an earlier call and are not scanned again, so a head arriving byte by byte
    /// costs linear time.
    private static func findHeadEnd(_ input: UnsafeBufferPointer<UInt8>, from start: Int, requestLineEnd: inout Int?,
                                    limits: Limits) throws(ParseError) -> Int? {
        for index in start..<input.count {
            let byte = input[index]
            if byte == ASCII.lf {
                guard index > 0, input[index - 1] == ASCII.cr else { throw .invalidLineEnding }
                if requestLineEnd == nil {
                    requestLineEnd = index + 1
                } else if input[index - 2] == ASCII.lf {
                    if index + 1 - requestLineEnd! > limits.maxHeaderBytes { throw .headerSectionTooLarge }
                    return index + 1
                }
            } else if index > 0, input[index - 1] == ASCII.cr {
                throw .invalidLineEnding
            }
            if let lineEnd = requestLineEnd {
                if index + 1 - lineEnd > limits.maxHeaderBytes { throw .headerSectionTooLarge }
            } else if index >= limits.maxRequestLineBytes + 1 {
                throw .requestLineTooLong
            }
        }
        return nil
    }
}
