import Foundation
import XCTest
import HTTP
@testable import Service

/// `/openapi.json` is generated from the router's table: every served route is in it, with its path
/// parameters, and a route registered without a description is still listed.
final class APIOpenAPITests: APITestCase {
    func testEveryRegisteredRouteIsDescribed() throws {
        let response = try get("/openapi.json")
        XCTAssertEqual(response.status, 200, response.text)
        let document = response.json()
        XCTAssertEqual(document["openapi"] as? String, "3.1.0")
        let paths = try XCTUnwrap(document["paths"] as? [String: [String: Any]])

        var router = Router()
        registerAPIRoutes(on: &router, context: APIContext(
            store: store, vocabulary: Self.vocabulary, now: { 0 }, checkpointRoot: checkpointRoot, metrics: PrometheusRegistry(),
            apiToken: nil, readiness: { [:] }, codeVersion: "test-1"))
        XCTAssertEqual(Set(router.routes.map { "\($0.method) \($0.pattern)" }),
                       Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } }))
        let sweep = try XCTUnwrap(paths["/v1/sweeps/{sweep_id}"]?["get"] as? [String: Any])
        XCTAssertEqual((sweep["parameters"] as? [[String: Any]])?.map { $0["name"] as? String }, ["sweep_id"])
        XCTAssertNotNil(sweep["summary"])
        let jobs = try XCTUnwrap(paths["/v1/jobs"]?["get"] as? [String: Any])
        XCTAssertTrue((jobs["parameters"] as? [[String: Any]] ?? []).contains { $0["name"] as? String == "sweep_id" })
        // Every route says what it does.
        let unsummarized = paths.flatMap { path, operations in
            operations.compactMap { method, operation in
                (operation as? [String: Any])?["summary"] == nil ? "\(method.uppercased()) \(path)" : nil
            }
        }
        XCTAssertEqual(unsummarized.sorted(), [])
        let export = try XCTUnwrap(paths["/v1/jobs/{job_id}/export"]?["get"] as? [String: Any])
        XCTAssertEqual(Set((export["parameters"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []),
                       ["job_id", "format", "checkpoint"])
        // Errors are 4xx and 5xx (503 when the store or the disk fails), and every error body has its request id.
        XCTAssertEqual(Set((export["responses"] as? [String: Any])?.keys.map { $0 } ?? []), ["2XX", "4XX", "5XX"])
        let errorSchema = ((document["components"] as? [String: Any])?["schemas"] as? [String: Any])?["Error"] as? [String: Any]
        let detail = (errorSchema?["properties"] as? [String: Any])?["error"] as? [String: Any]
        XCTAssertTrue((detail?["required"] as? [String])?.contains("request_id") == true, "\(String(describing: detail))")
    }

    func testARouteWithoutADescriptionIsListedWithWhatTheRouterKnows() throws {
        var router = Router()
        router.post("/v1/things/{thing_id}/poke", options: RouteOptions(requiredContentType: "application/json")) { _ in Response() }
        let document = OpenAPI.document(router.routes, version: "v")
        guard case .object(let members) = document, case .object(let paths)? = members.first(where: { $0.key == "paths" })?.value,
              case .object(let operations)? = paths.first?.value, case .object(let post)? = operations.first?.value else {
            return XCTFail("\(document)")
        }
        XCTAssertEqual(paths.map(\.key), ["/v1/things/{thing_id}/poke"])
        XCTAssertEqual(post.map(\.key), ["operationId", "parameters", "responses", "requestBody", "security"])
    }
}
