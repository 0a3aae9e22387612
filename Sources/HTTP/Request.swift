import Foundation

/// A complete request as a handler sees it: decoded path, query and parameters, the whole body.
public struct Request: Sendable {
    public let method: String
    /// The request target exactly as sent (path and query, still percent-encoded).
    public let target: String
    /// The percent-decoded path segments, e.g. `["v1", "jobs", "job_1"]`.
    public let pathSegments: [String]
    public let query: QueryParameters
    public let version: HTTPVersion
    public let headers: HTTPHeaders
    /// The whole body; empty on a route that streams it to `bodySink`.
    public internal(set) var body: [UInt8]
    /// `req_` + random hex; also sent as `X-Request-Id` and used in error bodies and the access log.
    public let requestID: String
    /// Values of the route's `{name}` segments, percent-decoded.
    public internal(set) var pathParameters: [String: String] = [:]
    /// Where the body went on a route with `RouteOptions.bodySink`, complete and finished.
    public internal(set) var bodySink: (any BodySink)?

    public init(method: String, target: String, version: HTTPVersion = .http11, headers: HTTPHeaders = HTTPHeaders(),
                body: [UInt8] = [], requestID: String = RequestID.make()) throws(HTTPError) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.requestID = requestID
        let questionMark = target.firstIndex(of: "?")
        let rawPath = questionMark.map { String(target[..<$0]) } ?? target
        pathSegments = try PercentDecoding.pathSegments(rawPath)
        query = try QueryParameters(questionMark.map { String(target[target.index(after: $0)...]) } ?? "")
    }

    /// The path as sent, without the query.
    public var path: String {
        target.firstIndex(of: "?").map { String(target[..<$0]) } ?? target
    }

    public var bodyData: Data { Data(body) }
}

/// Decoded `name=value` pairs of a query string, in order; repeated names keep every value.
public struct QueryParameters: Sendable {
    public let pairs: [(name: String, value: String)]

    init(_ query: String) throws(HTTPError) {
        var pairs: [(name: String, value: String)] = []
        for item in query.split(separator: "&") {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = try PercentDecoding.decodeQueryComponent(parts[0])
            let value: String
            do throws(HTTPError) {
                value = parts.count > 1 ? try PercentDecoding.decodeQueryComponent(parts[1]) : ""
            } catch {
                // The name decoded, so the client learns which parameter to fix.
                throw HTTPError.badRequest("malformed percent-encoding in the value of query parameter \(name)", param: name)
            }
            pairs.append((name: name, value: value))
        }
        self.pairs = pairs
    }

    /// The first value of `name`, or nil.
    public subscript(name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    public func values(for name: String) -> [String] {
        pairs.filter { $0.name == name }.map(\.value)
    }
}

/// Request ids: `req_` followed by 32 random hex digits.
public enum RequestID {
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64, low = generator.next() as UInt64
        return "req_" + hex(high) + hex(low)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
