import Foundation
import XCTest
@testable import HTTP
import TestSupport

/// curl and Python's http.client against a live server; each test skips when its tool is missing.
final class RealClientTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer()
    }

    override func tearDown() {
        server.stop()
    }

    private var base: String { "http://127.0.0.1:\(server.port)" }

    /// curl's path, or a skip naming what is missing.
    private func curl() throws -> String {
        guard let path = findExecutable("curl") else { throw XCTSkip("curl is not installed") }
        return path
    }

    func testCurlReusesTheConnectionForTwoURLs() throws {
        let result = try runProgram(curl(), ["-sv", "--max-time", "10", "\(base)/healthz", "\(base)/v1/jobs/a"])
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertEqual(result.output, #"{"status":"ok"}{"id":"a"}"#)
        XCTAssertTrue(result.errors.contains("Re-using existing connection"), result.errors)
    }

    func testCurlStreamsServerSentEvents() throws {
        let result = try runProgram(curl(), ["-sN", "--max-time", "10", "\(base)/events"])
        XCTAssertEqual(result.status, 0, result.errors)
        let events = result.output.replacingOccurrences(of: ": keep-alive\n\n", with: "")
        XCTAssertTrue(events.hasPrefix("id: 100\nevent: metric\ndata: {\"step\":100}\n\n"), events)
        XCTAssertTrue(events.hasSuffix("event: end\ndata: {\"status\":\"succeeded\"}\n\n"), events)
    }

    /// `Expect: 100-continue` with a real client: curl sends it for a large body and gets `100 Continue` at once
    /// instead of waiting out its one-second fallback.
    func testCurlUploadsMoreThanOneMebibyteWithContinue() throws {
        let path = NSTemporaryDirectory() + "unipelt-http-upload-\(UUID().uuidString)"
        let size = 2 * 1024 * 1024 + 17
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x41, count: size)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try runProgram(curl(), ["-sv", "--max-time", "10", "-H", "Content-Type: application/octet-stream",
                                                 "--data-binary", "@\(path)", "\(base)/upload"])
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertEqual(result.output, "{\"bytes\":\(size)}")
        XCTAssertTrue(result.errors.contains("Expect: 100-continue"), result.errors)
        XCTAssertTrue(result.errors.contains("HTTP/1.1 100 Continue"), result.errors)

        // The same upload to a route with the default 1 MiB limit is refused before the body is sent.
        let refused = try runProgram(curl(), ["-s", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}",
                                                  "--data-binary", "@\(path)", "\(base)/echo"])
        XCTAssertEqual(refused.output, "413")
    }

    func testPythonHTTPClient() throws {
        guard let python = findExecutable("python3") else { throw XCTSkip("python3 is not installed") }
        let script = """
        import http.client, json, sys
        connection = http.client.HTTPConnection("127.0.0.1", \(server.port), timeout=5)
        results = {}
        connection.request("GET", "/healthz")
        first = connection.getresponse(); results["first"] = [first.status, first.read().decode()]
        sock = connection.sock
        connection.request("POST", "/echo", body=iter([b"abc", b"defg"]), encode_chunked=True)
        second = connection.getresponse(); results["chunked"] = [second.status, second.read().decode()]
        results["same_socket"] = connection.sock is sock
        connection.request("HEAD", "/download")
        head = connection.getresponse(); head.read(); results["head_length"] = head.getheader("Content-Length")
        connection.request("GET", "/events", headers={"Accept": "text/event-stream"})
        events = connection.getresponse(); results["events"] = events.read().decode().count("event: ")
        connection.request("GET", "/nope")
        missing = connection.getresponse(); results["missing"] = json.loads(missing.read())["error"]["code"]
        print(json.dumps(results))
        """
        let result = try runProgram(python, ["-c", script])
        XCTAssertEqual(result.status, 0, result.errors)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        XCTAssertEqual(object["first"] as? [AnyHashable], [200, #"{"status":"ok"}"#])
        XCTAssertEqual(object["chunked"] as? [AnyHashable], [200, "abcdefg"])
        XCTAssertEqual(object["same_socket"] as? Bool, true)
        XCTAssertEqual(object["head_length"] as? String, String(TestServer.downloadSize))
        XCTAssertEqual(object["events"] as? Int, 3)
        XCTAssertEqual(object["missing"] as? String, "route_not_found")
    }
}
