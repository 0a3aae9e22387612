import Foundation
import XCTest
@testable import HTTP
import TestSupport

final class RouterTests: XCTestCase {
    private func router() -> Router {
        var router = Router()
        let name = { (label: String) -> Handler in { _ in .bytes(Array(label.utf8), contentType: "text/plain") } }
        router.get("/v1/jobs", name("list"))
        router.post("/v1/jobs", name("create"))
        router.get("/v1/jobs/{job_id}", name("job"))
        router.get("/v1/jobs/search", name("search"))
        router.get("/v1/jobs/{job_id}/checkpoints/{checkpoint_id}/content", name("content"))
        router.post("/v1/jobs/{job_id}/cancel", name("cancel"))
        return router
    }

    private func label(_ match: Router.Match) throws -> String {
        let request = try Request(method: "GET", target: "/")
        guard case .bytes(let bytes) = try match.route.handler(request).body else { return "" }
        return String(decoding: bytes, as: UTF8.self)
    }

    func testPathParametersAndLiteralPrecedence() throws {
        let router = router()
        let content = try router.match(method: "GET", segments: ["v1", "jobs", "job_7", "checkpoints", "best", "content"])
        XCTAssertEqual(content.parameters, ["job_id": "job_7", "checkpoint_id": "best"])
        XCTAssertEqual(try label(router.match(method: "GET", segments: ["v1", "jobs", "search"])), "search")
        XCTAssertEqual(try label(router.match(method: "GET", segments: ["v1", "jobs", "job_1"])), "job")
        XCTAssertEqual(try label(router.match(method: "POST", segments: ["v1", "jobs"])), "create")
    }

    func testNotFoundAndMethodNotAllowedStayDistinct() {
        let router = router()
        XCTAssertThrowsError(try router.match(method: "GET", segments: ["v1", "nope"])) {
            XCTAssertEqual(($0 as? HTTPError)?.status, .notFound)
        }
        XCTAssertThrowsError(try router.match(method: "GET", segments: ["v1", "jobs", "j", "cancel"])) {
            XCTAssertEqual(($0 as? HTTPError)?.status, .methodNotAllowed)
            XCTAssertEqual(($0 as? HTTPError)?.headers["Allow"], "POST")
        }
        XCTAssertThrowsError(try router.match(method: "DELETE", segments: ["v1", "jobs"])) {
            XCTAssertEqual(($0 as? HTTPError)?.headers["Allow"], "GET, POST, HEAD")
        }
    }

    func testHeadIsServedByGet() throws {
        XCTAssertEqual(try label(router().match(method: "HEAD", segments: ["v1", "jobs"])), "list")
    }

    func testQueryDecoding() throws {
        let request = try Request(method: "GET", target: "/v1/jobs?limit=20&after=job_1&q=a+b%2Fc&flag&limit=30")
        XCTAssertEqual(request.query["limit"], "20")
        XCTAssertEqual(request.query.values(for: "limit"), ["20", "30"])
        XCTAssertEqual(request.query["after"], "job_1")
        XCTAssertEqual(request.query["q"], "a b/c")
        XCTAssertEqual(request.query["flag"], "")
        XCTAssertNil(request.query["missing"])
        XCTAssertEqual(request.path, "/v1/jobs")
    }

    func testPathDecoding() throws {
        XCTAssertEqual(try Request(method: "GET", target: "/v1/jobs/caf%C3%A9").pathSegments, ["v1", "jobs", "café"])
        for bad in ["/a/%zz", "/a/%0", "/a/%00", "/a/%2e%2E", "/a/..", "/a/.", "/a/x%2Fy", "/a/x%5Cy", "/a/%c3"] {
            XCTAssertThrowsError(try Request(method: "GET", target: bad), bad) {
                XCTAssertEqual(($0 as? HTTPError)?.status, .badRequest, bad)
            }
        }
    }

    func testRespondInProcess() throws {
        let log = CapturingLog()
        let router = TestServer.routes(probe: RouteProbe(), downloadPath: "/nonexistent")
        let found = router.respond(to: try Request(method: "GET", target: "/v1/jobs/a%20b/checkpoints/best/content"), log: log)
        guard case .bytes(let body) = found.body else { return XCTFail("body") }
        XCTAssertEqual(try JSONDecoder().decode([String: String].self, from: Data(body)), ["job_id": "a b", "checkpoint_id": "best"])
        XCTAssertEqual(router.respond(to: try Request(method: "GET", target: "/nope"), log: log).status, .notFound)
        XCTAssertEqual(router.respond(to: try Request(method: "POST", target: "/json"), log: log).status, .lengthRequired)
        let wrongType = try Request(method: "POST", target: "/json", headers: HTTPHeaders([("Content-Type", "text/plain")]), body: Array("{}".utf8))
        XCTAssertEqual(router.respond(to: wrongType, log: log).status, .unsupportedMediaType)
        XCTAssertEqual(router.respond(to: try Request(method: "GET", target: "/fail"), log: log).status, .internalServerError)
        XCTAssertEqual(log.failures.count, 1)
    }

    func testErrorRenderingUsesTheConvertibleProtocol() throws {
        struct Conflict: HTTPErrorConvertible {
            var status: HTTPStatus { .conflict }
            var errorType: String { "conflict_error" }
            var code: String { "job_not_cancellable" }
            var message: String { "job is \"succeeded\"" }
            var param: String? { "job_id" }
            var headers: HTTPHeaders { HTTPHeaders([("Retry-After", "3")]) }
        }
        let response = ErrorRendering.response(for: Conflict(), requestID: "req_1")
        XCTAssertEqual(response.status.code, 409)
        XCTAssertEqual(response.headers["Retry-After"], "3")
        guard case .bytes(let body) = response.body else { return XCTFail("body") }
        XCTAssertEqual(String(decoding: body, as: UTF8.self),
                       #"{"error":{"code":"job_not_cancellable","message":"job is \"succeeded\"","param":"job_id","request_id":"req_1","type":"conflict_error"}}"#)
    }

    /// A client refused with a 4xx is told why; a 500 tells the client only that the server failed, so its
    /// reason goes to the log also when the error renders itself (a body or file that could not be stored).
    func testServerFailuresAreLoggedAndRefusalsAreNot() throws {
        var router = Router()
        router.get("/refused") { _ in throw HTTPError(status: .conflict, code: "busy", message: "busy") }
        router.get("/unstored") { _ in throw BodySinkError(operation: "create", path: "/data/x.part", systemError: ENOSPC) }
        let log = CapturingLog()
        XCTAssertEqual(router.respond(to: try Request(method: "GET", target: "/refused"), log: log).status, .conflict)
        XCTAssertEqual(log.failures, [])
        XCTAssertEqual(router.respond(to: try Request(method: "GET", target: "/unstored"), log: log).status, .internalServerError)
        XCTAssertEqual(log.failures, ["GET /unstored: cannot create /data/x.part: No space left on device"])
        // A refusal the server answers for (a 503) is logged when it carries a cause for the operator.
        router.get("/busy") { _ in throw HTTPError.serviceUnavailable(code: "too_many_streams", "later", retryAfterSeconds: 1) }
        router.get("/full") { _ in throw ServerFault() }
        XCTAssertEqual(router.respond(to: try Request(method: "GET", target: "/busy"), log: log).status.code, 503)
        XCTAssertEqual(router.respond(to: try Request(method: "GET", target: "/full"), log: log).status.code, 503)
        XCTAssertEqual(log.failures.dropFirst(), ["GET /full: disk full: ENOSPC on /data/db"])
    }

    private struct ServerFault: HTTPErrorConvertible, CustomStringConvertible {
        var status: HTTPStatus { .serviceUnavailable }
        var errorType: String { "server_error" }
        var code: String { "disk_full" }
        var message: String { "disk full" }
        var logDetail: String? { "ENOSPC on /data/db" }
        var description: String { message }
    }
}
