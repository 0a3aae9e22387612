import HTTP

/// An error the API reports to the client: HTTP status plus the JSON body
/// `{"error": {"type", "code", "message", "param", "request_id"}}`, rendered by HTTP's `ErrorRendering`.
public struct APIError: Error, Equatable, CustomStringConvertible {
    public let status: HTTPStatus
    public let type: String
    public let code: String
    public let message: String
    /// The offending field of the request (`methods[2]`, `k[0]`, `limit`), when there is one.
    public let param: String?
    /// The server-side cause of a server failure, for the log only (`HTTPErrorConvertible.logDetail`).
    public var logDetail: String?

    public init(status: Int, type: String, code: String, message: String, param: String? = nil) {
        self.status = HTTPStatus(apiCode: status)
        self.type = type
        self.code = code
        self.message = message
        self.param = param
    }

    public var description: String { "\(status.code) \(code): \(message)" + (param.map { " (param \($0))" } ?? "") }

    // The cases the API uses, one constructor each so codes and types stay consistent.
    public static func invalidValue(_ param: String, _ message: String) -> APIError {
        APIError(status: 400, type: "invalid_request_error", code: "invalid_value", message: "\(param): \(message)", param: param)
    }
    public static func missingParameter(_ param: String) -> APIError {
        APIError(status: 400, type: "invalid_request_error", code: "missing_parameter",
                 message: "\(param) is required", param: param)
    }
    public static func unknownParameter(_ param: String, allowed: [String]) -> APIError {
        APIError(status: 400, type: "invalid_request_error", code: "unknown_parameter",
                 message: "unknown parameter \(param); expected one of \(allowed.joined(separator: ", "))", param: param)
    }
    public static func invalidJSON(_ error: JSONParseError) -> APIError {
        APIError(status: 400, type: "invalid_request_error", code: "invalid_json", message: error.description)
    }
    /// The request names a task or model whose files are not installed; `reason` says how to install them.
    public static func notInstalled(_ param: String, _ reason: String) -> APIError {
        APIError(status: 422, type: "invalid_request_error", code: "not_installed", message: "\(param): \(reason)", param: param)
    }
    public static func tooManyJobs(_ count: Int, limit: Int) -> APIError {
        APIError(status: 400, type: "invalid_request_error", code: "too_many_jobs",
                 message: "the sweep expands to \(count) jobs; the limit is \(limit)", param: nil)
    }
}
