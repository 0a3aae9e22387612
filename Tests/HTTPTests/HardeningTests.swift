import Foundation
import XCTest
@testable import HTTP

/// Framing, smuggling, header and body hardening cases over real sockets on 127.0.0.1: one runner, fed by
/// `HardeningCases.all`.
final class HardeningTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer()
    }

    override func tearDown() {
        server.stop()
    }

    func testHardeningTableOverSockets() throws {
        for hardeningCase in HardeningCases.all {
            try check(hardeningCase)
        }
    }

    private func check(_ hardeningCase: HardeningCase) throws {
        let id = hardeningCase.id
        let client = try RawClient(port: server.port)
        client.send(hardeningCase.request)
        if hardeningCase.shutdownWrite { client.shutdownWrite() }
        guard let response = client.readResponse() else {
            return XCTFail("\(id): no response")
        }
        XCTAssertTrue(hardeningCase.statuses.contains(response.status), "\(id): status \(response.status), expected \(hardeningCase.statuses)")
        let requestID = response.header("X-Request-Id") ?? ""
        XCTAssertTrue(requestID.hasPrefix("req_") && requestID.count == 36, "\(id): request id \(requestID)")
        if response.status >= 400 {
            assertErrorBody(response, requestID: requestID, id: id)
        }
        if let body = hardeningCase.body {
            XCTAssertEqual(response.bodyText, body, id)
        }
        if hardeningCase.closes {
            XCTAssertEqual(response.header("Connection"), "close", "\(id): Connection header")
            XCTAssertTrue(client.closedByServer(), "\(id): connection left open")
        } else {
            client.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
            XCTAssertEqual(client.readResponse()?.status, 200, "\(id): connection not reusable")
        }
    }

    private func assertErrorBody(_ response: RawResponse, requestID: String, id: String) {
        XCTAssertEqual(response.header("Content-Type"), "application/json", id)
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
              let error = object["error"] as? [String: Any] else {
            return XCTFail("\(id): error body is not the API's error JSON: \(response.bodyText)")
        }
        XCTAssertEqual(error["request_id"] as? String, requestID, id)
        for key in ["type", "code", "message"] {
            XCTAssertNotNil(error[key] as? String, "\(id): error.\(key)")
        }
        XCTAssertTrue(error.keys.contains("param"), "\(id): error.param")
    }

    /// A body that is a request under one framing and not the other; the hidden request never runs.
    func testSmuggledPipelinedRequestIsNeverExecuted() throws {
        let smuggled = "POST /v1/jobs HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
        let attempts = [
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n" + smuggled + "\r\n0\r\n\r\n",
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: \(smuggled.utf8.count)\r\nTransfer-Encoding: chunked \r\n\r\n" + smuggled,
        ]
        for (index, attempt) in attempts.enumerated() {
            let client = try RawClient(port: server.port)
            client.send(attempt)
            XCTAssertEqual(client.readResponse()?.status, 400, "attempt \(index)", file: #filePath, line: #line)
            XCTAssertTrue(client.closedByServer(), "attempt \(index): exactly one response, then close")
        }
        XCTAssertEqual(server.probe.jobsCreated, 0)
    }
}
