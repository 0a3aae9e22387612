/// Everything the request parser can reject. Every case closes the connection after the response, since
/// the framing of whatever follows can no longer be trusted. Messages name the rule, never echo client bytes.
public enum ParseError: Error, Equatable, Sendable {
    case malformedRequestLine
    case requestLineTooLong
    case unsupportedVersion
    case invalidLineEnding
    case invalidHeaderName
    case invalidHeaderValue
    case obsoleteLineFolding
    case headerSectionTooLarge
    case tooManyHeaders
    case missingHost
    case duplicateHost
    case invalidContentLength
    case duplicateContentLength
    case contentLengthWithTransferEncoding
    case transferEncodingInHTTP10
    case malformedTransferEncoding
    case unsupportedTransferEncoding
    case invalidChunkSize
    case invalidChunkExtension
    case missingChunkTerminator
    case trailerSectionTooLarge
    case bodyTooLarge
    case incompleteBody
    case unsupportedExpectation
}

extension ParseError: HTTPErrorConvertible {
    public var status: HTTPStatus { table.status }
    public var errorType: String { "invalid_request_error" }
    public var code: String { table.code }
    public var message: String { table.message }

    private var table: (status: HTTPStatus, code: String, message: String) {
        switch self {
        case .malformedRequestLine: return (.badRequest, "malformed_request", "malformed request line")
        case .requestLineTooLong: return (.uriTooLong, "uri_too_long", "request line too long")
        case .unsupportedVersion: return (.httpVersionNotSupported, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are supported")
        case .invalidLineEnding: return (.badRequest, "malformed_request", "lines must end with CRLF")
        case .invalidHeaderName: return (.badRequest, "malformed_request", "invalid header field name")
        case .invalidHeaderValue: return (.badRequest, "malformed_request", "invalid header field value")
        case .obsoleteLineFolding: return (.badRequest, "malformed_request", "obsolete line folding is not accepted")
        case .headerSectionTooLarge: return (.headerFieldsTooLarge, "headers_too_large", "header section too large")
        case .tooManyHeaders: return (.headerFieldsTooLarge, "headers_too_large", "too many header fields")
        case .missingHost: return (.badRequest, "malformed_request", "HTTP/1.1 request without Host")
        case .duplicateHost: return (.badRequest, "malformed_request", "more than one Host header")
        case .invalidContentLength: return (.badRequest, "malformed_request", "invalid Content-Length")
        case .duplicateContentLength: return (.badRequest, "malformed_request", "more than one Content-Length")
        case .contentLengthWithTransferEncoding: return (.badRequest, "malformed_request", "both Content-Length and Transfer-Encoding")
        case .transferEncodingInHTTP10: return (.badRequest, "malformed_request", "Transfer-Encoding in an HTTP/1.0 request")
        case .malformedTransferEncoding: return (.badRequest, "malformed_request", "malformed Transfer-Encoding")
        case .unsupportedTransferEncoding: return (.notImplemented, "unsupported_transfer_encoding", "only Transfer-Encoding: chunked is supported")
        case .invalidChunkSize: return (.badRequest, "malformed_request", "invalid chunk size line")
        case .invalidChunkExtension: return (.badRequest, "malformed_request", "invalid chunk extension")
        case .missingChunkTerminator: return (.badRequest, "malformed_request", "chunk data not followed by CRLF")
        case .trailerSectionTooLarge: return (.headerFieldsTooLarge, "headers_too_large", "trailer section too large")
        case .bodyTooLarge: return (.contentTooLarge, "body_too_large", "request body too large")
        case .incompleteBody: return (.badRequest, "malformed_request", "connection closed before the body was complete")
        case .unsupportedExpectation: return (.expectationFailed, "expectation_failed", "only Expect: 100-continue is supported")
        }
    }
}
