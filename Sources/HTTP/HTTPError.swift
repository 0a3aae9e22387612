import Foundation

/// An error that knows its HTTP rendering. The server turns any thrown error conforming to this protocol
/// into the JSON error body `{"error": {type, code, message, param, request_id}}`; the Service layer
/// conforms its own error types to plug in.
public protocol HTTPErrorConvertible: Error {
    var status: HTTPStatus { get }
    /// `type` of the error body, e.g. `invalid_request_error`.
    var errorType: String { get }
    /// Stable machine-readable `code`, e.g. `route_not_found`.
    var code: String { get }
    var message: String { get }
    var param: String? { get }
    /// Extra response headers such as `Allow` or `Retry-After`.
    var headers: HTTPHeaders { get }
    /// For a failure of the server's own (a full disk behind a 503), the cause the operator must read in the log;
    /// never sent. Nil when the response says all there is.
    var logDetail: String? { get }
}

extension HTTPErrorConvertible {
    public var param: String? { nil }
    public var headers: HTTPHeaders { HTTPHeaders() }
    public var logDetail: String? { nil }
}

/// The HTTP module's own errors (routing, body policy, server state). Handlers may throw it too.
public struct HTTPError: HTTPErrorConvertible, Equatable {
    public var status: HTTPStatus
    public var errorType: String
    public var code: String
    public var message: String
    public var param: String?
    public var headers: HTTPHeaders

    public init(status: HTTPStatus, type: String = "invalid_request_error", code: String, message: String,
                param: String? = nil, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.errorType = type
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers
    }

    public static func badRequest(code: String = "malformed_request", _ message: String, param: String? = nil) -> HTTPError {
        HTTPError(status: .badRequest, code: code, message: message, param: param)
    }

    public static func routeNotFound() -> HTTPError {
        HTTPError(status: .notFound, type: "not_found_error", code: "route_not_found", message: "no route for this path")
    }

    public static func methodNotAllowed(allowed: [String]) -> HTTPError {
        let allow = allowed.joined(separator: ", ")
        return HTTPError(status: .methodNotAllowed, code: "method_not_allowed",
                         message: "method not allowed; allowed: \(allow)", headers: HTTPHeaders([("Allow", allow)]))
    }

    public static func serviceUnavailable(code: String, _ message: String, retryAfterSeconds: Int) -> HTTPError {
        HTTPError(status: .serviceUnavailable, type: "server_error", code: code, message: message,
                  headers: HTTPHeaders([("Retry-After", String(retryAfterSeconds))]))
    }

    static let internalError = HTTPError(status: .internalServerError, type: "server_error", code: "internal_error",
                                         message: "internal server error")
}

/// The one place where errors become responses: status, headers and the JSON error body.
enum ErrorRendering {
    private struct Body: Encodable {
        struct Detail: Encodable {
            let type: String
            let code: String
            let message: String
            let param: String?
            let request_id: String

            // `param` is always present, as null when absent, so clients can rely on the key.
            func encode(to encoder: Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(type, forKey: .type)
                try container.encode(code, forKey: .code)
                try container.encode(message, forKey: .message)
                try container.encode(param, forKey: .param)
                try container.encode(request_id, forKey: .request_id)
            }

            enum CodingKeys: String, CodingKey { case type, code, message, param, request_id }
        }

        let error: Detail
    }

    /// Errors that are not `HTTPErrorConvertible` become a generic 500; the caller logs the original.
    static func response(for error: Error, requestID: String) -> Response {
        let rendered = (error as? HTTPErrorConvertible) ?? HTTPError.internalError
        let body = Body(error: .init(type: rendered.errorType, code: rendered.code, message: rendered.message,
                                     param: rendered.param, request_id: requestID))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding strings cannot fail; a failure here would be a Foundation bug.
        let bytes = (try? encoder.encode(body)).map(Array.init) ?? Array(#"{"error":{}}"#.utf8)
        var response = Response.json(bytes: bytes, status: rendered.status)
        for (name, value) in rendered.headers { response.headers.add(name, value) }
        return response
    }
}
