import XCTest
@testable import HTTP

/// What the parser made of a byte sequence fed in some chunking.
struct ParseOutcome: Equatable {
    var requests: [String] = []
    var bodies: [[UInt8]] = []
    var error: ParseError?
    /// Input ended part-way through a request.
    var incomplete = false
}

/// Feeds `input` to a fresh parser in `chunks` (sizes), as a connection would: unconsumed bytes stay buffered.
/// Stops at the first error. Asserts progress, so a parser that loops without consuming fails instead of hanging.
func parse(_ input: [UInt8], chunkSizes: [Int]? = nil, limits: Limits = Limits(), maxBodyBytes: Int? = nil) -> ParseOutcome {
    var parser = RequestParser(limits: limits)
    var outcome = ParseOutcome()
    var buffer: [UInt8] = []
    var offset = 0
    var sizes = (chunkSizes ?? [input.count])[...]
    var steps = 0
    while true {
        var event = RequestParser.Event.needMore
        repeat {
            steps += 1
            precondition(steps < 4 * input.count + 64, "parser made no progress")
            do {
                let (parsed, consumed) = try buffer.withUnsafeBufferPointer { (bytes) throws(ParseError) in try parser.parse(bytes) }
                buffer.removeFirst(consumed)
                event = parsed
                switch parsed {
                case .head(let head):
                    outcome.requests.append("\(head.method) \(head.target)")
                    try parser.beginBody(maxBytes: maxBodyBytes ?? limits.maxBodyBytes)
                case .body(let body):
                    outcome.bodies.append(body)
                case .needMore:
                    break
                }
            } catch {
                outcome.error = error
                return outcome
            }
        } while event != .needMore
        guard offset < input.count else { break }
        let size = max(1, sizes.popFirst() ?? (input.count - offset))
        buffer += input[offset..<min(input.count, offset + size)]
        offset += size
    }
    outcome.incomplete = !buffer.isEmpty || !parser.isBetweenRequests
    return outcome
}

final class RequestParserTests: XCTestCase {
    /// Every hardening case gives the same outcome whole, byte by byte, and split in two at every offset.
    func testOutcomeDoesNotDependOnHowBytesArrive() {
        for hardeningCase in HardeningCases.all {
            let input = hardeningCase.request
            let whole = parse(input)
            XCTAssertEqual(parse(input, chunkSizes: Array(repeating: 1, count: input.count)), whole, "\(hardeningCase.id) byte by byte")
            // Splitting every offset of the 16 KiB cases would be slow in debug builds; a stride keeps it bounded.
            let stride = max(1, input.count / 200)
            for split in Swift.stride(from: 1, to: input.count, by: stride) {
                XCTAssertEqual(parse(input, chunkSizes: [split, input.count]), whole, "\(hardeningCase.id) split at \(split)")
            }
        }
    }

    func testValidRequestsParse() {
        let outcome = parse(Array("POST /a?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        XCTAssertEqual(outcome.requests, ["POST /a?x=1", "GET /b"])
        XCTAssertEqual(outcome.bodies, [Array("hello".utf8), []])
        XCTAssertNil(outcome.error)
        XCTAssertFalse(outcome.incomplete)
    }

    func testChunkedBodyWithExtensionsAndTrailers() {
        let outcome = parse(Array("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n5;a=b\r\nhello\r\n1 ;c\r\n!\r\n0\r\nX-T: 1\r\n\r\n".utf8))
        XCTAssertNil(outcome.error)
        XCTAssertEqual(outcome.bodies, [Array("hello!".utf8)])
    }

    func testHeadFields() throws {
        var parser = RequestParser(limits: Limits())
        let input = Array("GET /x HTTP/1.0\r\nHost:  h \r\nConnection: Keep-Alive\r\nX-Empty:\r\n\r\n".utf8)
        let (event, consumed) = try input.withUnsafeBufferPointer { (bytes) throws(ParseError) in try parser.parse(bytes) }
        guard case .head(let head) = event else { return XCTFail("expected a head, got \(event)") }
        XCTAssertEqual(consumed, input.count)
        XCTAssertEqual(head.version, .http10)
        XCTAssertEqual(head.headers["host"], "h")
        XCTAssertEqual(head.headers["x-empty"], "")
        XCTAssertTrue(head.keepAlive)
        XCTAssertEqual(head.framing, .none)
    }

    func testKeepAliveDefaults() throws {
        func keepAlive(_ text: String) -> Bool {
            var parser = RequestParser(limits: Limits())
            let parsed = try? Array(text.utf8).withUnsafeBufferPointer { (bytes) throws(ParseError) in try parser.parse(bytes) }
            guard case .head(let head)? = parsed?.event else { return false }
            return head.keepAlive
        }
        XCTAssertTrue(keepAlive("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
        XCTAssertFalse(keepAlive("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
        XCTAssertFalse(keepAlive("GET / HTTP/1.0\r\n\r\n"))
        XCTAssertTrue(keepAlive("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
    }

    /// RFC 9110 tchar, checked for every byte value in a header name (SwiftNIO's all-256 test).
    func testHeaderNameAcceptsExactlyTokenCharacters() {
        let tokenSpecials = Set("!#$%&'*+-.^_`|~".utf8)
        for value in 0...255 {
            let byte = UInt8(value)
            let isToken = (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || tokenSpecials.contains(byte)
            let input = Array("GET / HTTP/1.1\r\nHost: a\r\nX".utf8) + [byte] + Array("Y: 1\r\n\r\n".utf8)
            let outcome = parse(input)
            if isToken || byte == ASCII.colon {
                XCTAssertNil(outcome.error, "byte \(value) should be allowed in a name")
            } else {
                XCTAssertNotNil(outcome.error, "byte \(value) should be refused in a name")
            }
        }
    }

    /// Field values: HTAB, SP, VCHAR and obs-text pass; other controls and DEL fail.
    func testHeaderValueCharacters() {
        for value in 0...255 {
            let byte = UInt8(value)
            let allowed = byte == 9 || (byte >= 0x20 && byte != 0x7F)
            let input = Array("GET / HTTP/1.1\r\nHost: a\r\nX: a".utf8) + [byte] + Array("b\r\n\r\n".utf8)
            XCTAssertEqual(parse(input).error == nil, allowed, "byte \(value) in a value")
        }
    }

    func testLimitsAtTheirEdges() {
        var limits = Limits()
        limits.maxRequestLineBytes = 32
        limits.maxHeaderBytes = 64
        limits.maxHeaderCount = 3
        let line = { (length: Int) in "GET /" + String(repeating: "a", count: length - 14) + " HTTP/1.1\r\n" }
        XCTAssertNil(parse(Array((line(32) + "Host: a\r\n\r\n").utf8), limits: limits).error)
        XCTAssertEqual(parse(Array((line(33) + "Host: a\r\n\r\n").utf8), limits: limits).error, .requestLineTooLong)
        // Fails before the line ends: an endless request line is refused as soon as it is too long.
        XCTAssertEqual(parse(Array("GET /".utf8) + Array(repeating: UInt8(ascii: "a"), count: 40), limits: limits).error, .requestLineTooLong)

        let fields = { (valueLength: Int) in "Host: a\r\nX: " + String(repeating: "x", count: valueLength) + "\r\n\r\n" }
        XCTAssertNil(parse(Array((line(20) + fields(64 - 16)).utf8), limits: limits).error)
        XCTAssertEqual(parse(Array((line(20) + fields(64 - 15)).utf8), limits: limits).error, .headerSectionTooLarge)

        XCTAssertNil(parse(Array((line(20) + "Host: a\r\nA: 1\r\nB: 2\r\n\r\n").utf8), limits: limits).error)
        XCTAssertEqual(parse(Array((line(20) + "Host: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n").utf8), limits: limits).error, .tooManyHeaders)

        let body = { (length: Int) in Array("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \(length)\r\n\r\n".utf8) }
        XCTAssertNil(parse(body(10) + Array(repeating: 0, count: 10), maxBodyBytes: 10).error)
        XCTAssertEqual(parse(body(11), maxBodyBytes: 10).error, .bodyTooLarge)
        let chunked = { (size: String) in Array("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\(size)\r\n".utf8) }
        XCTAssertNil(parse(chunked("a") + Array(repeating: 0, count: 10) + Array("\r\n0\r\n\r\n".utf8), maxBodyBytes: 10).error)
        XCTAssertEqual(parse(chunked("b"), maxBodyBytes: 10).error, .bodyTooLarge)
        // The limit covers the sum of chunks, not each one.
        XCTAssertEqual(parse(chunked("6") + Array("abcdef\r\n6\r\n".utf8), maxBodyBytes: 10).error, .bodyTooLarge)
    }

    func testEveryParseErrorMapsToAClientOrProtocolStatus() {
        let all: [ParseError] = [.malformedRequestLine, .requestLineTooLong, .unsupportedVersion, .invalidLineEnding,
            .invalidHeaderName, .invalidHeaderValue, .obsoleteLineFolding, .headerSectionTooLarge, .tooManyHeaders,
            .missingHost, .duplicateHost, .invalidContentLength, .duplicateContentLength, .contentLengthWithTransferEncoding,
            .transferEncodingInHTTP10, .malformedTransferEncoding, .unsupportedTransferEncoding, .invalidChunkSize,
            .invalidChunkExtension, .missingChunkTerminator, .trailerSectionTooLarge, .bodyTooLarge, .incompleteBody,
            .unsupportedExpectation]
        for error in all {
            XCTAssertTrue([400, 413, 414, 417, 431, 501, 505].contains(error.status.code), "\(error)")
            XCTAssertEqual(error.errorType, "invalid_request_error")
        }
    }
}
