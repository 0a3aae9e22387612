/// Parses a complete head (request line + header section, ending in CRLFCRLF) and decides its framing.
/// Policy choices where RFC 9112 leaves room, strict against request smuggling: methods are upper-case
/// letters; the target is origin-form; any Content-Length list or repeat is rejected; only a single, exact
/// `chunked` is accepted.
enum HeadParser {
    static func parse(_ head: UnsafeBufferPointer<UInt8>, limits: Limits) throws(ParseError) -> RequestHead {
        // Lines without their CRLF; the scan already guaranteed every LF follows a CR.
        var lines: [Range<Int>] = []
        var lineStart = 0
        for index in 0..<head.count where head[index] == ASCII.lf {
            lines.append(lineStart..<(index - 1))
            lineStart = index + 1
        }
        lines.removeLast() // the empty line that ends the head
        guard let requestLine = lines.first else { throw .malformedRequestLine }
        let (method, target, version) = try parseRequestLine(UnsafeBufferPointer(rebasing: head[requestLine]))

        var headers = HTTPHeaders()
        var rawTransferEncodings: [ArraySlice<UInt8>] = []
        for line in lines.dropFirst() {
            guard headers.count < limits.maxHeaderCount else { throw .tooManyHeaders }
            let field = head[line]
            guard let first = field.first, !ASCII.isWhitespace(first) else {
                throw field.isEmpty ? .invalidHeaderName : .obsoleteLineFolding
            }
            guard let colon = field.firstIndex(of: ASCII.colon), colon > field.startIndex else { throw .invalidHeaderName }
            guard field[..<colon].allSatisfy(ASCII.isTokenChar) else { throw .invalidHeaderName }
            var value = field[(colon + 1)...]
            guard value.allSatisfy(ASCII.isFieldValueChar) else { throw .invalidHeaderValue }
            while let byte = value.first, ASCII.isWhitespace(byte) { value = value.dropFirst() }
            let name = String(decoding: field[..<colon], as: UTF8.self)
            if name.caseInsensitiveEquals("transfer-encoding") { rawTransferEncodings.append(ArraySlice(value)) }
            while let byte = value.last, ASCII.isWhitespace(byte) { value = value.dropLast() }
            headers.add(name, String(decoding: value, as: UTF8.self))
        }

        let hosts = headers.values(for: "host")
        if hosts.count > 1 { throw .duplicateHost }
        if version == .http11 && hosts.isEmpty { throw .missingHost }

        let framing = try decideFraming(headers: headers, rawTransferEncodings: rawTransferEncodings, version: version)
        let connectionTokens = headers.values(for: "connection")
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let keepAlive = version == .http11
            ? !connectionTokens.contains("close")
            : connectionTokens.contains("keep-alive") && !connectionTokens.contains("close")

        var expectsContinue = false
        if let expect = headers["expect"] {
            guard expect.caseInsensitiveEquals("100-continue") else { throw .unsupportedExpectation }
            // A server must not send 100 Continue to an HTTP/1.0 client (RFC 9110 §10.1.1).
            expectsContinue = version == .http11
        }
        return RequestHead(method: method, target: target, version: version, headers: headers, framing: framing,
                           keepAlive: keepAlive, expectsContinue: expectsContinue)
    }

    private static func parseRequestLine(_ line: UnsafeBufferPointer<UInt8>) throws(ParseError) -> (String, String, HTTPVersion) {
        let parts = line.split(separator: ASCII.space, maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformedRequestLine }
        let method = parts[0], target = parts[1], version = parts[2]
        guard !method.isEmpty, method.allSatisfy({ $0 >= 65 && $0 <= 90 }) else { throw .malformedRequestLine }
        // origin-form: "/" followed by visible ASCII.
        guard target.first == UInt8(ascii: "/"), target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .malformedRequestLine
        }
        let parsedVersion: HTTPVersion
        switch Array(version) {
        case Array("HTTP/1.1".utf8): parsedVersion = .http11
        case Array("HTTP/1.0".utf8): parsedVersion = .http10
        case let other where other.count == 8 && other.starts(with: "HTTP/".utf8)
            && other[5] >= 48 && other[5] <= 57 && other[6] == UInt8(ascii: ".") && other[7] >= 48 && other[7] <= 57:
            throw .unsupportedVersion
        default:
            throw .malformedRequestLine
        }
        return (String(decoding: method, as: UTF8.self), String(decoding: target, as: UTF8.self), parsedVersion)
    }

    private static func decideFraming(headers: HTTPHeaders, rawTransferEncodings: [ArraySlice<UInt8>],
                                      version: HTTPVersion) throws(ParseError) -> BodyFraming {
        let lengths = headers.values(for: "content-length")
        if !rawTransferEncodings.isEmpty {
            if version == .http10 { throw .transferEncodingInHTTP10 }
            if !lengths.isEmpty { throw .contentLengthWithTransferEncoding }
            // Exactly one field whose raw value is `chunked`: trailing spaces, lists and repeats are how
            // front ends and back ends come to disagree about framing.
            if rawTransferEncodings.count == 1,
               String(decoding: rawTransferEncodings[0], as: UTF8.self).caseInsensitiveEquals("chunked") {
                return .chunked
            }
            let codings = rawTransferEncodings.flatMap { $0.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) }
            for coding in codings {
                let trimmed = coding.drop(while: ASCII.isWhitespace).reversed().drop(while: ASCII.isWhitespace)
                guard !trimmed.isEmpty, trimmed.allSatisfy(ASCII.isTokenChar) else { throw .malformedTransferEncoding }
            }
            throw .unsupportedTransferEncoding
        }
        guard let length = lengths.first else { return .none }
        guard lengths.count == 1 else { throw .duplicateContentLength }
        guard !length.isEmpty, length.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { throw .invalidContentLength }
        var value = 0
        for digit in length.utf8 {
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = shifted.addingReportingOverflow(Int(digit - 48))
            guard !overflowA, !overflowB else { throw .invalidContentLength }
            value = sum
        }
        return .contentLength(value)
    }
}
