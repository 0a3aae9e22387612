import Foundation
@testable import HTTP
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Bodies streamed into a route's sink (`RouteOptions.bodySink`) instead of memory: larger than the buffered
/// limit, in order, in both framings, and never left behind by a request that does not complete.
final class StreamedBodyTests: XCTestCase {
    private var folder: String!
    private var server: Server!

    /// Larger than `Limits.maxBodyBytes` (1 MiB), which buffered routes keep.
    private static let large = 3 * 1024 * 1024 + 17
    private static func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 % 251) } }

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "unipelt-streamed-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var limits = shortLimits()
        // Long enough to look at a half-sent body on disk; no extra time for bytes received.
        limits.bodyTimeout = 1
        limits.minStreamedBodyBytesPerSecond = Int.max
        var configuration = Server.Configuration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.limits = limits
        configuration.workerThreads = 2
        server = Server(configuration: configuration, router: Self.routes(folder: folder))
        try server.start()
    }

    override func tearDown() {
        server.shutdown(gracePeriod: 1)
        try? FileManager.default.removeItem(atPath: folder)
    }

    static func routes(folder: String) -> Router {
        var router = Router()
        let options = RouteOptions(maxBodyBytes: 64 * 1024 * 1024, bodyRequired: true, bodySink: { request in
            if request.headers["X-Refuse"] != nil { throw HTTPError(status: .conflict, code: "refused", message: "refused from the head") }
            return try FileBodySink(directory: folder)
        })
        router.add("PUT", "/stream/{name}", options: options) { request in
            guard let file = request.bodySink as? FileBodySink else { throw HTTPError.badRequest("no sink") }
            XCTAssertTrue(request.body.isEmpty, "a streamed body is not also buffered")
            try file.moveFile(to: "\(folder)/\(request.pathParameters["name"]!)")
            return .json(bytes: Array("{\"bytes\":\(file.byteCount)}".utf8))
        }
        router.add("PUT", "/buffered", options: RouteOptions(bodyRequired: true)) { request in
            .json(bytes: Array("{\"bytes\":\(request.body.count)}".utf8))
        }
        return router
    }

    private func files() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    private func head(_ path: String, _ fields: [String]) -> String {
        (["PUT \(path) HTTP/1.1", "Host: test"] + fields).joined(separator: "\r\n") + "\r\n\r\n"
    }

    func testABodyLargerThanTheBufferedLimitStreamsIntoTheSinkWithEitherFraming() throws {
        let body = Self.pattern(Self.large)
        let client = try RawClient(port: server.port, timeout: 10)
        client.send(head("/stream/sized", ["Content-Length: \(body.count)"]))
        client.send(body)
        var response = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(response.status, 200, response.bodyText)
        XCTAssertEqual(response.bodyText, "{\"bytes\":\(body.count)}")

        // Chunked, in uneven chunks, on the same kept-alive connection.
        client.send(head("/stream/chunked", ["Transfer-Encoding: chunked"]))
        var offset = 0
        for size in [1, 100_000, 65_536, 7].cycled(until: body.count) {
            let end = min(body.count, offset + size)
            client.send(String(end - offset, radix: 16) + "\r\n")
            client.send(Array(body[offset..<end]) + Array("\r\n".utf8))
            offset = end
        }
        client.send("0\r\n\r\n")
        response = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(response.status, 200, response.bodyText)

        XCTAssertEqual(files(), ["chunked", "sized"], "only the kept files: no part file is left")
        for name in ["sized", "chunked"] {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(folder!)/\(name)")), Data(body), name)
        }
    }

    func testTheSameBodyIsRefusedBeforeItIsReadOnABufferedRoute() throws {
        let client = try RawClient(port: server.port)
        client.send(head("/buffered", ["Content-Length: \(Self.large)"]))
        let response = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(response.status, 413)
    }

    func testAClientThatVanishesMidBodyLeavesNoFile() throws {
        let client = try RawClient(port: server.port)
        client.send(head("/stream/cut", ["Content-Length: \(Self.large)"]))
        client.send(Self.pattern(Self.large / 2))
        // The half sent is on disk already, not in memory.
        XCTAssertTrue(waitFor { self.partFileSizes().contains { $0 >= 1024 * 1024 } }, "\(files())")
        client.reset()
        XCTAssertTrue(waitFor { self.files().isEmpty }, "left behind: \(files())")
    }

    func testABodyThatStopsArrivingTimesOutAndLeavesNoFile() throws {
        let client = try RawClient(port: server.port)
        client.send(head("/stream/slow", ["Content-Length: 1000"]))
        client.send(Self.pattern(10))
        let response = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(response.status, 408)
        XCTAssertTrue(waitFor { self.files().isEmpty }, "left behind: \(files())")
    }

    func testASinkRefusingTheHeadIsTheAnswerAndNoBodyIsRead() throws {
        let client = try RawClient(port: server.port)
        client.send(head("/stream/refused", ["Content-Length: \(Self.large)", "Expect: 100-continue", "X-Refuse: yes"]))
        let response = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(response.status, 409, "no 100 Continue: the client need not send the body")
        XCTAssertEqual(files(), [])
    }

    func testAStreamedBodyEarnsTimeForEveryByteReceived() {
        var limits = Limits()
        limits.bodyTimeout = 30
        limits.minStreamedBodyBytesPerSecond = 1000
        let buffered = Connection.deadline(readingBody: true, requestStartedAt: 0, bodyStartedAt: 10, now: 50, limits: limits)
        XCTAssertEqual(buffered.deadline, 40)
        let streamed = Connection.deadline(readingBody: true, requestStartedAt: 0, bodyStartedAt: 10, now: 50, limits: limits,
                                           streamedBytes: 25_000)
        XCTAssertEqual(streamed.deadline, 65, "30 s, plus 25 s for 25 000 bytes at 1000 bytes/s")
    }

    func testTheParserHandsOverAStreamedBodyPieceByPiece() throws {
        var parser = RequestParser(limits: Limits())
        let body = Self.pattern(5000)
        let wire = Array("PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            + Array("fa0\r\n".utf8) + body[0..<4000] + Array("\r\n3e8\r\n".utf8) + body[4000...] + Array("\r\n0\r\n\r\n".utf8)
        var taken: [UInt8] = []
        var pieces = 0
        var finished = false
        var unread: [UInt8] = []
        for start in stride(from: 0, to: wire.count, by: 700) {
            unread += wire[start..<min(wire.count, start + 700)]
            parsing: while true {
                let (event, consumed) = try unread.withUnsafeBufferPointer { try parser.parse($0) }
                unread.removeFirst(consumed)
                switch event {
                case .head:
                    try parser.beginBody(maxBytes: body.count, streaming: true)
                case .needMore:
                    parser.takeBody {
                        taken.append(contentsOf: $0)
                        pieces += 1
                    }
                    break parsing
                case .body(let rest):
                    taken += rest
                    finished = true
                    break parsing
                }
            }
        }
        XCTAssertTrue(finished)
        XCTAssertEqual(taken, body)
        XCTAssertGreaterThan(pieces, 5, "taken as it arrived, never held whole")
    }

    func testRespondRunsAStreamingRouteInProcess() throws {
        let router = Self.routes(folder: folder)
        let body = Self.pattern(1000)
        let response = router.respond(to: try Request(method: "PUT", target: "/stream/inprocess",
                                                      headers: HTTPHeaders([("Content-Length", "1000")]), body: body))
        XCTAssertEqual(response.status.code, 200)
        XCTAssertEqual(files(), ["inprocess"])
    }

    private func partFileSizes() -> [Int] {
        files().filter { $0.hasSuffix(".part") }.compactMap {
            var info = stat()
            return stat("\(folder!)/\($0)", &info) == 0 ? Int(info.st_size) : nil
        }
    }

    /// Polls `condition` for up to 3 s: the server cleans up on its own threads, after the client's side ended.
    private func waitFor(_ condition: () -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: 3)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }
}

private extension Array where Element == Int {
    /// The sizes repeated until they add up to at least `total`.
    func cycled(until total: Int) -> [Int] {
        var sizes: [Int] = []
        var sum = 0
        while sum < total {
            let size = self[sizes.count % count]
            sizes.append(size)
            sum += size
        }
        return sizes
    }
}
