import Foundation
import Checksum
import HTTP
import JobStore

/// What the API handlers need; the app builds one at start and tests build their own.
public struct APIContext: Sendable {
    public var store: JobStore
    /// Allowed tasks, methods, models and hyperparameters; job cap and default max_attempts. Built anew on
    /// each access (it lists the model folder), so a model installed while the service runs can be named at
    /// once; a handler reads it once.
    public var vocabulary: SweepVocabulary { currentVocabulary() }
    private let currentVocabulary: @Sendable () -> SweepVocabulary
    /// Unix seconds; injected so tests choose the time.
    public var now: @Sendable () -> Int
    /// Checkpoint files are served only from inside this directory (checked on the resolved real path).
    public var checkpointRoot: String
    public var metrics: PrometheusRegistry
    /// When set, every /v1 request needs `Authorization: Bearer <token>`. Never logged.
    public var apiToken: String?
    /// Readiness checks beyond the database (migrations done, workers running): name → passing.
    public var readiness: @Sendable () -> [String: Bool]
    /// Build id or git sha, reported by /readyz.
    public var codeVersion: String
    /// How often history streams look for new rows.
    public var streamPollInterval: TimeInterval
    /// The data and model folders `/v1/tasks` and `/v1/models` describe; nil answers as if nothing is installed.
    public var installation: Installation?
    /// Trained models for predict and export; nil answers those routes with 503.
    public var inference: Inference?
    /// Lease and checkpoint settings the pull-worker endpoints apply.
    public var workerEndpoints = WorkerEndpointSettings()
    /// Checksums of installed model files, kept while the files are unchanged.
    public var modelChecksums = ModelFileChecksums()

    public init(store: JobStore, vocabulary: @autoclosure @escaping @Sendable () -> SweepVocabulary,
                now: @escaping @Sendable () -> Int,
                checkpointRoot: String, metrics: PrometheusRegistry, apiToken: String?,
                readiness: @escaping @Sendable () -> [String: Bool], codeVersion: String,
                streamPollInterval: TimeInterval = 0.5, inference: Inference? = nil) {
        self.store = store
        currentVocabulary = vocabulary
        self.now = now
        self.checkpointRoot = checkpointRoot
        self.metrics = metrics
        self.apiToken = apiToken
        self.readiness = readiness
        self.codeVersion = codeVersion
        self.streamPollInterval = streamPollInterval
        self.inference = inference
    }
}

/// Registers the /v1 API, the unversioned ops and dashboard routes, and the scrape-time
/// gauges of `/metrics`. Call once per router.
public func registerAPIRoutes(on router: inout Router, context: APIContext) {
    let routes = APIRoutes(context: context)
    SweepsAPI(context: context).register(on: &router, routes)
    JobsAPI(context: context).register(on: &router, routes)
    JobHistoryAPI(context: context).register(on: &router, routes)
    CheckpointsAPI(context: context).register(on: &router, routes)
    InferenceAPI(context: context).register(on: &router, routes)
    OpsAPI(context: context).register(on: &router, routes)
    CatalogAPI(context: context).register(on: &router, routes)
    CleanupAPI(context: context).register(on: &router, routes)
    WorkerAPI(context: context).register(on: &router, routes)
    Dashboard.register(on: &router)
    OpenAPI.register(on: &router, version: context.codeVersion)  // last: it describes the routes above
}

/// Wraps handlers with what every route shares: the API token check (/v1 only) and error mapping.
struct APIRoutes: Sendable {
    let context: APIContext
    /// The token's digest, so comparing takes the same time whatever the presented token's length.
    private let tokenDigest: [UInt8]?

    init(context: APIContext) {
        self.context = context
        tokenDigest = context.apiToken.map { Self.digest($0) }
    }

    /// JSON bodies of POSTs: a body must come as application/json (415 otherwise, checked from the head).
    static let jsonBody = RouteOptions(requiredContentType: "application/json")
    static let requiredJSONBody = RouteOptions(bodyRequired: true, requiredContentType: "application/json")

    /// A /v1 route: authorised, errors mapped.
    func v1(_ handler: @escaping Handler) -> Handler {
        { [self] request in
            try authorize(request)
            return try Self.mappingErrors(handler)(request)
        }
    }

    /// The body sink of a streaming /v1 route: authorised, errors mapped, all before a byte of the body is read.
    func v1Sink(_ make: @escaping @Sendable (Request) throws -> any BodySink) -> @Sendable (Request) throws -> any BodySink {
        { [self] request in
            try authorize(request)
            do { return try make(request) } catch { throw APIError.mapping(error) }
        }
    }

    /// A /v1 POST, under the Idempotency-Key rules (`IdempotentPost`).
    func v1Post(_ handler: @escaping PostHandler) -> Handler {
        v1 { [context] request in try IdempotentPost.run(request, store: context.store, now: context.now, handler) }
    }

    /// A control POST on one object (cancel, pause…): the id from path parameter `parameter`, no body
    /// fields, one store action that answers with the object.
    func v1Control(_ parameter: String, _ object: StoreObject,
                   _ action: @escaping @Sendable (StoreWriter, String, Int) throws -> PostOutcome) -> Handler {
        v1Post { [context] request in
            let id = try APIID.require(request.pathParameters[parameter], object)
            _ = try RequestBody.object(request, allowed: [])
            let now = context.now()
            return { writer in try action(writer, id, now) }
        }
    }

    /// An ops route: open, errors mapped.
    static func mappingErrors(_ handler: @escaping Handler) -> Handler {
        { request in
            do { return try handler(request) } catch { throw APIError.mapping(error) }
        }
    }

    private func authorize(_ request: Request) throws {
        guard let tokenDigest else { return }
        let header = request.headers["Authorization"] ?? ""
        let scheme = "bearer "
        let presented = header.lowercased().hasPrefix(scheme) ? String(header.dropFirst(scheme.count)) : ""
        // Constant time over the digests: no early exit on the first differing byte.
        let difference = zip(Self.digest(presented), tokenDigest).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) }
        guard !presented.isEmpty, difference == 0 else { throw APIError.unauthorized() }
    }

    private static func digest(_ text: String) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(Data(text.utf8))
        return Array(hasher.finalizeHex().utf8)
    }
}

// MARK: Parameters shared by the handlers

/// Ids are `<prefix>_` + 24 lowercase hex digits; anything else names nothing (404), so no client text
/// ever reaches a file path or shows up in a lookup.
enum APIID {
    static func require(_ id: String?, _ object: StoreObject) throws -> String {
        guard let id, isWellFormed(id, object) else {
            throw APIError(status: 404, type: "not_found_error", code: "\(object.rawValue)_not_found",
                           message: "no \(object.rawValue) with this id")
        }
        return id
    }

    static func isWellFormed(_ id: String, _ object: StoreObject) -> Bool {
        let prefix = prefixes[object, default: "?"] + "_"
        guard id.hasPrefix(prefix) else { return false }
        let digits = id.utf8.dropFirst(prefix.utf8.count)
        return digits.count == 24 && digits.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    private static let prefixes: [StoreObject: String] = [.job: "job", .sweep: "swp", .checkpoint: "ckpt", .event: "evt"]
}

extension QueryParameters {
    /// An optional integer parameter within `range`; anything else is a 400 naming it.
    func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = self[name] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.invalidValue(name, "expected an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// An optional parameter that must be one of `allowed`.
    func choice(_ name: String, _ allowed: [String]) throws -> String? {
        guard let text = self[name] else { return nil }
        guard allowed.contains(text) else {
            throw APIError.invalidValue(name, "unknown value \"\(text)\"; expected one of \(allowed.joined(separator: ", "))")
        }
        return text
    }

    /// An optional parameter that must be an id of `object`.
    func id(_ name: String, of object: StoreObject) throws -> String? {
        guard let text = self[name] else { return nil }
        guard APIID.isWellFormed(text, object) else { throw APIError.invalidValue(name, "expected a \(object.rawValue) id") }
        return text
    }

    /// `limit` (default 20, 1…100) and `after` (an id of the listed kind) of the object lists.
    func listWindow(of object: StoreObject) throws -> (limit: Int, after: String?) {
        (try integer("limit", in: 1...100) ?? 20, try id("after", of: object))
    }

    /// `after_step`, `limit` (default 1000, 1…10 000 steps) and `max_points` of metric and gate pages.
    /// `resumeStep` (a stream's Last-Event-ID) takes the place of `after_step`.
    func stepWindow(resumeStep: Int?) throws -> StepWindow {
        StepWindow(afterStep: try resumeStep ?? integer("after_step", in: 0...Int(Int32.max)),
                   limit: try integer("limit", in: 1...10_000) ?? 1_000,
                   maxPoints: try integer("max_points", in: 1...10_000))
    }
}

extension Response {
    /// A JSON response from an API object.
    static func api<Value: Encodable>(_ value: Value, status: HTTPStatus = .ok) throws -> Response {
        .json(bytes: try APIJSON.encode(value), status: status)
    }

    /// A CSV download (text/csv).
    static func csv(_ text: String, headers: HTTPHeaders = HTTPHeaders()) -> Response {
        .bytes(Array(text.utf8), contentType: "text/csv; charset=utf-8", headers: headers)
    }
}

/// The JSON object body of a POST: an empty body is an empty object (control POSTs take none or `{}`);
/// unknown keys are errors naming the key.
enum RequestBody {
    static func object(_ request: Request, allowed: [String]) throws -> JSONValue {
        guard !request.body.isEmpty else { return .object([]) }
        let body = try JSONParser.parse(request.body)
        guard case .object(let members) = body else {
            throw APIError.invalidValue("body", "expected an object, got \(body.typeName)")
        }
        if let unknown = members.first(where: { !allowed.contains($0.key) }) {
            guard !allowed.isEmpty else {
                throw APIError(status: 400, type: "invalid_request_error", code: "unknown_parameter",
                               message: "unknown parameter \(unknown.key); this request takes no parameters", param: unknown.key)
            }
            throw APIError.unknownParameter(unknown.key, allowed: allowed)
        }
        return body
    }
}
