import HTTP
import JobStore
import Model
import Training

// The one place where errors become API errors (`{"error": {type, code, message, param, request_id}}`). Handlers throw `APIError`,
// `JobStoreError` or `JSONParseError`; `APIError.mapping(_:)` turns the last two into API errors,
// and anything it does not know stays as it is, so the HTTP layer logs it and answers a plain 500.

extension APIError: HTTPErrorConvertible {
    public var errorType: String { type }
    public var headers: HTTPHeaders {
        switch status.code {
        case 401: return HTTPHeaders([("WWW-Authenticate", "Bearer")])
        case 503: return HTTPHeaders([("Retry-After", "1")])
        default: return HTTPHeaders()
        }
    }
}

extension HTTPStatus {
    /// The statuses the API answers with (errors and replayed idempotent responses), with their reason phrases.
    init(apiCode code: Int) {
        let reasons = [200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict",
                       422: "Unprocessable Content", 500: "Internal Server Error", 503: "Service Unavailable"]
        self.init(code: code, reason: reasons[code] ?? "Error")
    }
}

extension APIError {
    /// The API error for `error`, or `error` itself when it has no API meaning (a 500 that gets logged).
    static func mapping(_ error: Error) -> Error {
        switch error {
        case let error as APIError: return error
        case let error as JSONParseError: return APIError.invalidJSON(error)
        case let error as JobStoreError: return mapping(error) ?? error
        case let error as PredictionError:
            return APIError(status: 400, type: "invalid_request_error", code: error.code, message: error.description,
                            param: error.field)
        case let error as ExportError:
            return APIError(status: 400, type: "invalid_request_error", code: "format_not_supported",
                            message: error.description, param: "format")
        case let error as ModelLibrary.LoadError:
            return APIError(status: 409, type: "conflict_error", code: "model_unavailable",
                            message: "the job's base model cannot be loaded: \(error)")
        case let error as CheckpointUploadError:
            switch error {
            case .checksumMismatch:
                return APIError(status: 422, type: "invalid_request_error", code: "checksum_mismatch",
                                message: error.description, param: WorkerWire.checksumHeader)
            case .unwritable:
                return APIError(status: 503, type: "server_error", code: "checkpoint_unwritable",
                                message: "the checkpoint could not be stored; nothing was recorded")
                    .logging(error)
            }
        case let error as TrainingError where ["invalid_checkpoint", "missing_data"].contains(error.code):
            // The reason names server paths; the client learns only which checkpoint failed.
            return APIError(status: 409, type: "conflict_error", code: error.code,
                            message: "the checkpoint file cannot be loaded as a trained model", param: "checkpoint")
        default: return error
        }
    }

    private static func mapping(_ error: JobStoreError) -> APIError? {
        switch error {
        case .notFound(let object, let id) where [.job, .sweep, .checkpoint].contains(object):
            return APIError(status: 404, type: "not_found_error", code: error.code,
                            message: "no \(object.rawValue) with id \(id)")
        case .illegalTransition(let object, _, _, let action):
            let code: String
            switch action {
            case .cancel: code = "\(object.rawValue)_not_cancellable"
            case .retry: code = "\(object.rawValue)_not_retryable"
            case .pause: code = "\(object.rawValue)_not_pausable"
            case .resume: code = "\(object.rawValue)_not_resumable"
            case .delete: code = "\(object.rawValue)_not_deletable"
            // A worker's own lease transitions: no client request asks for them.
            case .finish, .fail, .requeue, .confirmCancellation: code = error.code
            }
            return APIError(status: 409, type: "conflict_error", code: code, message: error.description)
        case .leaseLost(let jobID):
            return APIError(status: 409, type: "conflict_error", code: error.code,
                            message: "the lease on job \(jobID) is no longer yours: the job was rescued, finished or "
                                + "claimed again; stop without further reports")
        case .invalidCursor(_, let cursor):
            return APIError(status: 400, type: "invalid_request_error", code: "invalid_cursor",
                            message: "after: \(cursor) names nothing in this list", param: "after")
        case .idempotencyKeyInUse:
            return APIError(status: 409, type: "conflict_error", code: error.code,
                            message: "a request with this Idempotency-Key is still being processed; retry later",
                            param: "Idempotency-Key")
        case .idempotencyKeyReused:
            return APIError(status: 422, type: "invalid_request_error", code: error.code,
                            message: "this Idempotency-Key was used with a different method, path or body",
                            param: "Idempotency-Key")
        case .sqlite(let failure) where failure.isBusy:
            return APIError(status: 503, type: "server_error", code: "database_unavailable",
                            message: "the database is busy; retry shortly")
        case .sqlite(let failure) where failure.isDiskFull:
            return APIError(status: 503, type: "server_error", code: "disk_full",
                            message: "the disk holding the job store is full; nothing was stored").logging(error)
        case .sqlite(let failure) where failure.isStorageUnavailable:
            return APIError(status: 503, type: "server_error", code: "database_unavailable",
                            message: "the job store cannot be written (read-only or I/O error); nothing was stored")
                .logging(error)
        default:
            return nil
        }
    }

    /// This error, with `cause` for the log: a fault of the server's own that the operator has to fix.
    func logging(_ cause: Error) -> APIError {
        var error = self
        error.logDetail = "\(cause)"
        return error
    }

    /// A worker endpoint's body that is not the message it takes.
    static func invalidWorkerMessage(_ error: Error) -> APIError {
        guard let decoding = error as? DecodingError else { return invalidValue("body", "\(error)") }
        let path: [CodingKey]
        switch decoding {
        case let .keyNotFound(key, context): path = context.codingPath + [key]
        case let .typeMismatch(_, context), let .valueNotFound(_, context), let .dataCorrupted(context):
            path = context.codingPath
        @unknown default: path = []
        }
        let param = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        return invalidValue(param.isEmpty ? "body" : param, "not a valid worker message (\(decoding))")
    }

    static func unauthorized() -> APIError {
        APIError(status: 401, type: "authentication_error", code: "invalid_api_key",
                 message: "missing or wrong API key: send Authorization: Bearer <token>")
    }

    static func notReady(_ failing: [String]) -> APIError {
        APIError(status: 503, type: "server_error", code: "not_ready",
                 message: "not ready: " + failing.joined(separator: ", "))
    }
}

