import HTTP
import Training

/// `GET /openapi.json`: an OpenAPI 3.1 description generated from the router's own table, so every served
/// route is listed with its method, path parameters, body media type and the description it was registered
/// with; a route registered without one is listed with that minimal information.
enum OpenAPI {
    /// Registers `/openapi.json` describing every route registered so far and itself: call it last.
    static func register(on router: inout Router, version: String) {
        let document = Document()
        router.get("/openapi.json", description: RouteDescription("This document", tag: "ops")) { _ in
            .bytes(document.bytes, contentType: "application/json")
        }
        document.bytes = Array(self.document(router.routes, version: version).serialized().utf8)
    }

    /// Written once, before the router is handed to the server, then only read.
    private final class Document: @unchecked Sendable {
        var bytes: [UInt8] = []
    }

    static func document(_ entries: [RouteEntry], version: String) -> JSONValue {
        var paths: [(key: String, value: JSONValue)] = []
        for entry in entries {
            let operation = (entry.method.lowercased(), self.operation(entry))
            if let index = paths.firstIndex(where: { $0.key == entry.pattern }), case .object(let operations) = paths[index].value {
                paths[index].value = .object(operations + [operation])
            } else {
                paths.append((entry.pattern, .object([operation])))
            }
        }
        let error = object([
            ("type", "object"), ("required", .array([.string("error")])),
            ("properties", object([("error", object([
                ("type", "object"), ("required", .array(["type", "code", "message", "param", "request_id"].map { .string($0) })),
                ("properties", object([
                    ("type", object([("type", "string")])), ("code", object([("type", "string")])),
                    ("message", object([("type", "string")])),
                    ("param", object([("type", .array([.string("string"), .string("null")]))])),
                    ("request_id", object([("type", "string")])),
                ])),
            ]))])),
        ])
        return object([
            ("openapi", "3.1.0"),
            ("info", object([("title", "unipelt"), ("version", .string(version)),
                             ("description", "Parameter-efficient tuning sweeps as queued jobs.")])),
            ("paths", .object(paths)),
            ("components", object([
                ("schemas", object([("Error", error), ("Hyperparameters", hyperparameters())])),
                ("securitySchemes", object([("bearer", object([("type", "http"), ("scheme", "bearer")]))])),
            ])),
        ])
    }

    /// The `hyperparameters` object of a job or sweep, from the trainer's table: each value's type, range or
    /// choices, default and summary.
    static func hyperparameters() -> JSONValue {
        let properties = HyperparameterTable.all.map { spec -> (key: String, value: JSONValue) in
            var members: [(String, JSONValue)]
            switch spec.kind {
            case let .integer(range):
                members = [("type", "integer"), ("minimum", .number(Double(range.lowerBound))),
                           ("maximum", .number(Double(range.upperBound)))]
            case let .number(range):
                members = [("type", "number"), ("minimum", .number(range.lowerBound)), ("maximum", .number(range.upperBound))]
            case let .choice(allowed):
                members = [("type", "string"), ("enum", .array(allowed.map(JSONValue.string)))]
            case .boolean:
                members = [("type", "boolean")]
            }
            let defaults = spec.defaults.compactMap(\.value)
            if let only = defaults.first, defaults.allSatisfy({ $0 == only }) { members.append(("default", JSONValue(only))) }
            // A derived default is explained by the summary itself.
            let summary = defaults.isEmpty ? spec.summary : "\(spec.summary); default \(spec.defaultDescription)"
            members.append(("description", .string(summary)))
            return (spec.name, object(members))
        }
        return object([("type", "object"), ("additionalProperties", .bool(false)), ("properties", .object(properties)),
                       ("description", .string("Overrides of the method's defaults. A sweep may give a non-empty list "
                                               + "of values for any of them: one axis of its grid."))])
    }

    private static func operation(_ entry: RouteEntry) -> JSONValue {
        let description = entry.description
        var parameters: [JSONValue] = entry.pathParameters.map { name in
            object([("name", .string(name)), ("in", "path"), ("required", .bool(true)), ("schema", object([("type", "string")]))])
        }
        parameters += description.query.map { query in
            object([("name", .string(query.name)), ("in", "query"), ("required", .bool(false)),
                    ("description", .string(query.meaning)), ("schema", object([("type", "string")]))])
        }
        let errorBody = object([("description", "an error naming the offending field"),
                                ("content", object([("application/json", object([("schema", object([("$ref", "#/components/schemas/Error")]))]))]))])
        var responses: [(key: String, value: JSONValue)] = description.responses.isEmpty
            ? [("2XX", object([("description", "success")]))]
            : description.responses.map { (String($0.status), object([("description", .string($0.meaning))])) }
        responses.append(("4XX", errorBody))
        // 503: the store busy or unwritable, the disk full, not ready; 500: a fault the log names.
        responses.append(("5XX", errorBody))
        var members: [(key: String, value: JSONValue)] = [
            ("operationId", .string(entry.method.lowercased() + entry.pattern.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined())),
            ("parameters", .array(parameters)),
            ("responses", .object(responses)),
        ]
        if let summary = description.summary { members.append(("summary", .string(summary))) }
        if let tag = description.tag { members.append(("tags", .array([.string(tag)]))) }
        if let mediaType = entry.bodyContentType {
            members.append(("requestBody", object([("required", .bool(entry.bodyRequired)),
                                                   ("content", object([(mediaType, object([("schema", object([("type", "object")]))]))]))])))
        }
        // The token is needed only when one is configured.
        if entry.pattern.hasPrefix("/v1/") { members.append(("security", .array([object([]), object([("bearer", .array([]))])]))) }
        return .object(members)
    }

    private static func object(_ members: [(String, JSONValue)]) -> JSONValue {
        .object(members.map { (key: $0.0, value: $0.1) })
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}
