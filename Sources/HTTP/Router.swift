import Foundation

/// A request handler. It runs on one of the server's handler threads and may block briefly; long work
/// belongs elsewhere, and long-lived output belongs in a `Response.stream`.
public typealias Handler = @Sendable (Request) throws -> Response

/// Per-route request policy, checked from the head before any body byte is read.
public struct RouteOptions: Sendable {
    /// Body limit for this route; nil uses `Limits.maxBodyBytes`.
    public var maxBodyBytes: Int?
    /// Requests without Content-Length or chunked framing get `411 Length Required`.
    public var bodyRequired: Bool
    /// Requests with a body of another media type (parameters ignored) get `415`.
    public var requiredContentType: String?
    /// Streams the body into the sink this makes instead of buffering it, for bodies too large to hold in
    /// memory. It runs once the head passed the checks above, before any body byte is read, and sees the
    /// request without its body; what it throws is the response (nothing of the body is read).
    public var bodySink: (@Sendable (Request) throws -> any BodySink)?

    public init(maxBodyBytes: Int? = nil, bodyRequired: Bool = false, requiredContentType: String? = nil,
                bodySink: (@Sendable (Request) throws -> any BodySink)? = nil) {
        self.maxBodyBytes = maxBodyBytes
        self.bodyRequired = bodyRequired
        self.requiredContentType = requiredContentType
        self.bodySink = bodySink
    }
}

/// What a route does, for its API description. Every field is optional, so a route registered without one
/// is still listed (with its method, path and parameters).
public struct RouteDescription: Sendable {
    public var summary: String?
    /// Query parameters the handler reads: name → what it means.
    public var query: [(name: String, meaning: String)]
    /// Response statuses other than errors: code → what the body is.
    public var responses: [(status: Int, meaning: String)]
    public var tag: String?

    public init(_ summary: String? = nil, query: [(name: String, meaning: String)] = [],
                responses: [(status: Int, meaning: String)] = [], tag: String? = nil) {
        self.summary = summary
        self.query = query
        self.responses = responses
        self.tag = tag
    }
}

/// One registered route as `Router.routes` lists it.
public struct RouteEntry: Sendable {
    public let method: String
    public let pattern: String
    public let pathParameters: [String]
    public let bodyContentType: String?
    public let bodyRequired: Bool
    public let description: RouteDescription
}

/// Routes by method and path pattern (`/v1/jobs/{job_id}/checkpoints/{checkpoint_id}/content`). It is a value:
/// the server keeps the copy it was given, so the table is frozen once serving starts.
public struct Router: Sendable {
    struct Route: Sendable {
        let method: String
        let options: RouteOptions
        let handler: Handler
        let pattern: String
        let description: RouteDescription
    }

    private enum Segment: Equatable, Sendable {
        case literal(String)
        case parameter(String)
    }

    private struct Pattern: Sendable {
        let segments: [Segment]
        var routes: [Route]

        /// Pattern shape with parameter names erased; two patterns with the same shape would be ambiguous.
        var shape: [String?] {
            segments.map { if case .literal(let text) = $0 { return text } else { return nil } }
        }
    }

    private var patterns: [Pattern] = []

    public init() {}

    /// Registers `handler` for `method` and `pattern`. GET routes also answer HEAD. `description` documents
    /// the route for the API description generated from this table (`routes`).
    public mutating func add(_ method: String, _ pattern: String, options: RouteOptions = RouteOptions(),
                             description: RouteDescription = RouteDescription(), _ handler: @escaping Handler) {
        precondition(pattern.hasPrefix("/"), "route patterns start with /: \(pattern)")
        let segments: [Segment] = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            $0.hasPrefix("{") && $0.hasSuffix("}") && $0.count > 2 ? .parameter(String($0.dropFirst().dropLast()))
                                                                   : .literal(String($0))
        }
        let route = Route(method: method, options: options, handler: handler, pattern: pattern, description: description)
        let shape = Pattern(segments: segments, routes: []).shape
        if let existing = patterns.firstIndex(where: { $0.shape == shape }) {
            precondition(patterns[existing].segments == segments, "\(pattern) conflicts with a route named differently")
            precondition(!patterns[existing].routes.contains { $0.method == method }, "duplicate route \(method) \(pattern)")
            patterns[existing].routes.append(route)
        } else {
            patterns.append(Pattern(segments: segments, routes: [route]))
        }
    }

    public mutating func get(_ pattern: String, options: RouteOptions = RouteOptions(),
                             description: RouteDescription = RouteDescription(), _ handler: @escaping Handler) {
        add("GET", pattern, options: options, description: description, handler)
    }

    public mutating func post(_ pattern: String, options: RouteOptions = RouteOptions(),
                              description: RouteDescription = RouteDescription(), _ handler: @escaping Handler) {
        add("POST", pattern, options: options, description: description, handler)
    }

    public mutating func delete(_ pattern: String, options: RouteOptions = RouteOptions(),
                                description: RouteDescription = RouteDescription(), _ handler: @escaping Handler) {
        add("DELETE", pattern, options: options, description: description, handler)
    }

    /// Every route in registration order, with its path parameters and description.
    public var routes: [RouteEntry] {
        patterns.flatMap { pattern in
            pattern.routes.map { route in
                RouteEntry(method: route.method, pattern: route.pattern,
                           pathParameters: pattern.segments.compactMap { if case .parameter(let name) = $0 { return name } else { return nil } },
                           bodyContentType: route.options.requiredContentType, bodyRequired: route.options.bodyRequired,
                           description: route.description)
            }
        }
    }

    /// A matched route with its decoded path parameters.
    struct Match {
        let route: Route
        let parameters: [String: String]

        func bind(_ request: Request) -> Request {
            var request = request
            request.pathParameters = parameters
            return request
        }
    }

    /// The response refusing a request before its body was read.
    struct ResponseFailure: Error {
        let response: Response
    }

    /// Finds the route for `method` and decoded `segments`. Literal segments win over parameters, position by
    /// position. A path with routes but none for the method is a 405 listing the allowed methods.
    func match(method: String, segments: [String]) throws(HTTPError) -> Match {
        var best: (pattern: Pattern, literals: [Bool])? = nil
        for pattern in patterns where pattern.segments.count == segments.count {
            var literals: [Bool] = []
            let matches = zip(pattern.segments, segments).allSatisfy { segment, value in
                switch segment {
                case .literal(let text): literals.append(true); return text == value
                case .parameter: literals.append(false); return true
                }
            }
            guard matches else { continue }
            if let current = best, !literals.lexicographicallyPrecedes(current.literals, by: { $0 && !$1 }) { continue }
            best = (pattern, literals)
        }
        guard let pattern = best?.pattern else { throw .routeNotFound() }
        let route = pattern.routes.first { $0.method == method }
            ?? (method == "HEAD" ? pattern.routes.first { $0.method == "GET" } : nil)
        guard let route else {
            var allowed = pattern.routes.map(\.method)
            if allowed.contains("GET") && !allowed.contains("HEAD") { allowed.append("HEAD") }
            throw .methodNotAllowed(allowed: allowed)
        }
        var parameters: [String: String] = [:]
        for (segment, value) in zip(pattern.segments, segments) {
            if case .parameter(let name) = segment { parameters[name] = value }
        }
        return Match(route: route, parameters: parameters)
    }
}

extension Router {
    /// Finds the route for a request head and applies the route's body policy (411, 415), all before any
    /// body byte is read. `hasFraming`: Content-Length or chunked was sent; `hasBody`: body bytes follow.
    func route(method: String, segments: [String], hasFraming: Bool, hasBody: Bool,
               contentType: String?) throws(HTTPError) -> Match {
        let found = try match(method: method, segments: segments)
        let options = found.route.options
        if options.bodyRequired && !hasFraming {
            throw HTTPError(status: .lengthRequired, code: "length_required",
                            message: "this route requires a body with Content-Length")
        }
        if let required = options.requiredContentType, hasBody,
           !(contentType.map { Self.mediaType($0).caseInsensitiveEquals(required) } ?? false) {
            throw HTTPError(status: .unsupportedMediaType, code: "unsupported_media_type",
                            message: "Content-Type must be \(required)")
        }
        return found
    }

    /// Runs a matched handler. A thrown error becomes its rendered response; one that answers 500 (any
    /// error that is not `HTTPErrorConvertible`, and those that say so) is also reported to `log`, since the
    /// client learns only that the server failed.
    static func run(_ match: Match, _ request: Request, log: ServerLog) -> Response {
        let request = match.bind(request)
        do {
            return try match.route.handler(request)
        } catch {
            return failure(error, request, log: log)
        }
    }

    /// The sink of a streaming route for `request` (its body not read yet), or the response refusing it.
    static func makeSink(_ match: Match, _ request: Request, log: ServerLog) -> Result<(any BodySink)?, ResponseFailure> {
        guard let make = match.route.options.bodySink else { return .success(nil) }
        let request = match.bind(request)
        do { return .success(try make(request)) } catch { return .failure(ResponseFailure(response: failure(error, request, log: log))) }
    }

    private static func failure(_ error: Error, _ request: Request, log: ServerLog) -> Response {
        let rendered = error as? HTTPErrorConvertible
        if let detail = rendered?.logDetail {
            log.failure("\(request.method) \(request.path): \(error): \(detail)", requestID: request.requestID)
        } else if (rendered?.status.code ?? 500) == 500 {
            log.failure("\(request.method) \(request.path): \(error)", requestID: request.requestID)
        }
        return ErrorRendering.response(for: error, requestID: request.requestID)
    }

    /// Routes and answers `request` in-process, as the server would once the request was read; for testing
    /// handlers without sockets. Framing, limits and streaming belong to the server and are not exercised.
    public func respond(to request: Request, log: ServerLog = StandardErrorLog()) -> Response {
        let headers = request.headers
        do throws(HTTPError) {
            let found = try route(method: request.method, segments: request.pathSegments,
                                  hasFraming: !request.body.isEmpty || headers.contains("content-length")
                                      || headers.contains("transfer-encoding"),
                                  hasBody: !request.body.isEmpty, contentType: headers["content-type"])
            guard found.route.options.bodySink != nil else { return Self.run(found, request, log: log) }
            return Self.runStreamed(found, request, log: log)
        } catch {
            return ErrorRendering.response(for: error, requestID: request.requestID)
        }
    }

    /// A streaming route answered in-process: the whole body goes to its sink in one write.
    private static func runStreamed(_ match: Match, _ request: Request, log: ServerLog) -> Response {
        let sink: (any BodySink)?
        switch makeSink(match, request, log: log) {
        case .success(let made): sink = made
        case .failure(let refusal): return refusal.response
        }
        defer { sink?.discard() }
        var request = request
        do {
            try request.body.withUnsafeBytes { try sink?.write($0) }
            try sink?.finish()
        } catch {
            return failure(error, match.bind(request), log: log)
        }
        request.bodySink = sink
        request.body = []
        return run(match, request, log: log)
    }

    private static func mediaType(_ contentType: String) -> String {
        String(contentType.split(separator: ";", maxSplits: 1)[0]).trimmingCharacters(in: .whitespaces)
    }
}
