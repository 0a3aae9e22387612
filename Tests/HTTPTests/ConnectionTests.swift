import Foundation
import XCTest
@testable import HTTP
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Hardening cases that need a conversation rather than one request (HardeningCases has the single ones):
/// keep-alive, pipelining, timeouts, slow readers, resets, streams and shutdown. All on 127.0.0.1 with
/// sub-second timeouts.
final class ConnectionTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer()
    }

    override func tearDown() {
        server.stop()
    }

    private let get = { (path: String) in "GET \(path) HTTP/1.1\r\nHost: a\r\n\r\n" }

    /// The watchdog's HTTP half: the loop's heartbeat stays fresh while it runs and grows while it is wedged (here by
    /// holding its lock, as a stuck loop would), which is what the service's watchdog ping checks. Time moves
    /// on a manual clock; a request answered on a fresh connection proves the loop turned since.
    func testLoopHeartbeatGoesStaleWhileTheLoopIsWedged() throws {
        let clock = ManualClock()
        let server = try TestServer(clock: clock)
        defer { server.stop() }
        let http = server.server
        clock.advance(by: 0.3)
        try answerOneRequest(server)
        XCTAssertLessThan(try XCTUnwrap(http.secondsSinceLoopTurn), 0.3)
        let loop = try XCTUnwrap(http.running?.loop)
        loop.lock.lock()
        clock.advance(by: 1.0)
        let wedged = try XCTUnwrap(http.secondsSinceLoopTurn)
        loop.lock.unlock()
        XCTAssertGreaterThan(wedged, 0.7)
        clock.advance(by: 0.3)
        try answerOneRequest(server)
        XCTAssertLessThan(try XCTUnwrap(http.secondsSinceLoopTurn), 0.3)
    }

    /// Waits for one request on a new connection to be answered: the loop accepts in one turn and sees the
    /// request's bytes in a later one.
    private func answerOneRequest(_ server: TestServer) throws {
        let client = try RawClient(port: server.port)
        client.send(get("/healthz"))
        _ = client.readResponse()
    }

    /// HTTP/1.1 keeps the connection by default; `Connection: close`, and HTTP/1.0 without keep-alive, close it.
    func testKeepAliveAndConnectionClose() throws {
        let client = try RawClient(port: server.port)
        for _ in 0..<3 {
            client.send(get("/healthz"))
            let response = try XCTUnwrap(client.readResponse())
            XCTAssertEqual(response.status, 200)
            XCTAssertNil(response.header("Connection"))
        }
        client.send("GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(client.readResponse()?.header("Connection"), "close")
        XCTAssertTrue(client.closedByServer())

        let http10 = try RawClient(port: server.port)
        http10.send("GET /healthz HTTP/1.0\r\n\r\n")
        XCTAssertEqual(http10.readResponse()?.status, 200)
        XCTAssertTrue(http10.closedByServer())

        let http10KeepAlive = try RawClient(port: server.port)
        http10KeepAlive.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        XCTAssertEqual(http10KeepAlive.readResponse()?.header("Connection"), "keep-alive")
        http10KeepAlive.send("GET /healthz HTTP/1.0\r\n\r\n")
        XCTAssertEqual(http10KeepAlive.readResponse()?.status, 200)
        XCTAssertTrue(http10KeepAlive.closedByServer())
    }

    /// Pipelined requests, the last one split across writes, are answered in order.
    func testPipelinedRequestsAnswerInOrder() throws {
        let client = try RawClient(port: server.port)
        let third = get("/v1/jobs/c")
        let split = third.index(third.startIndex, offsetBy: 10)
        client.send(get("/v1/jobs/a") + get("/v1/jobs/b") + third[..<split])
        XCTAssertEqual(client.readResponse()?.bodyText, #"{"id":"a"}"#)
        XCTAssertEqual(client.readResponse()?.bodyText, #"{"id":"b"}"#)
        client.send(String(third[split...]))
        XCTAssertEqual(client.readResponse()?.bodyText, #"{"id":"c"}"#)
    }

    /// A head trickling in (slowloris) is cut off by the header timeout; other clients are served meanwhile.
    func testSlowHeadersHitTheHeaderTimeout() throws {
        let slow = try RawClient(port: server.port)
        let started = Date()
        slow.send("GET /healthz HTTP/1.1\r\nHo")
        let other = try RawClient(port: server.port)
        other.send(get("/healthz"))
        XCTAssertEqual(other.readResponse()?.status, 200)
        slow.send("s")
        XCTAssertEqual(slow.readResponse()?.status, 408)
        XCTAssertTrue(slow.closedByServer())
        XCTAssertLessThan(Date().timeIntervalSince(started), 2.5)
    }

    /// A body that stops short of its Content-Length gets 408 after the body timeout, and the connection closes.
    func testSlowBodyHitsTheBodyTimeout() throws {
        let client = try RawClient(port: server.port)
        client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        XCTAssertEqual(client.readResponse()?.status, 408)
        XCTAssertTrue(client.closedByServer())
    }

    /// An idle keep-alive connection, or one that never sends, is closed after the idle timeout.
    func testIdleConnectionIsClosed() throws {
        let client = try RawClient(port: server.port)
        client.send(get("/healthz"))
        XCTAssertEqual(client.readResponse()?.status, 200)
        XCTAssertTrue(client.closedByServer())
        let silent = try RawClient(port: server.port)
        XCTAssertTrue(silent.closedByServer(), "a connection that never sends is held to the idle timeout")
    }

    /// A client that stops reading a download is dropped by the write timeout, freeing its worker.
    func testSlowReaderOfADownloadHitsTheWriteTimeout() throws {
        let client = try RawClient(port: server.port, receiveBuffer: 4096)
        client.send(get("/download"))
        // Never read: the server's socket buffer fills and its writes stall.
        server.log.wait { entries, _ in entries.contains { $0.path == "/download" } }
        let entry = try XCTUnwrap(server.log.entries.first { $0.path == "/download" }, "the stalled download never ended")
        XCTAssertLessThan(entry.bytes, TestServer.downloadSize)
        // Every worker is free again: four parallel requests all succeed.
        let others = try (0..<4).map { _ in try RawClient(port: server.port) }
        others.forEach { $0.send(get("/slow")) }
        server.probe.waitForSlowRequests(4)
        server.probe.releaseSlowRequests()
        for other in others { XCTAssertEqual(other.readResponse()?.status, 200) }
    }

    func testFileDownloadHeadersAndContent() throws {
        let client = try RawClient(port: server.port)
        client.send(get("/download"))
        let response = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("Content-Length"), String(TestServer.downloadSize))
        XCTAssertEqual(response.header("ETag"), "\"v1\"")
        XCTAssertEqual(response.header("X-Checksum-SHA256"), "abc123")
        XCTAssertTrue(Data(response.body) == TestServer.downloadContents)

        client.send(get("/missing-file"))
        let missing = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(missing.status, 404)
        XCTAssertTrue(missing.bodyText.contains("file_not_found"))
    }

    /// A reset mid-response neither crashes the server nor leaks the connection.
    func testClientResetMidResponse() throws {
        for _ in 0..<3 {
            let client = try RawClient(port: server.port)
            client.send(get("/download"))
            var chunk = [UInt8](repeating: 0, count: 1024)
            _ = recv(client.descriptor, &chunk, chunk.count, 0)
            client.reset()
        }
        server.log.wait { entries, _ in entries.filter { $0.path == "/download" }.count == 3 }
        XCTAssertEqual(server.log.entries.filter { $0.path == "/download" }.count, 3)
        let client = try RawClient(port: server.port)
        client.send(get("/healthz"))
        XCTAssertEqual(client.readResponse()?.status, 200)
    }

    /// A client that half-closes its sending side after the request still gets its response.
    func testHalfClosedClientStillGetsItsResponse() throws {
        let client = try RawClient(port: server.port)
        client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
        client.shutdownWrite()
        XCTAssertEqual(client.readResponse()?.bodyText, "hello")
        XCTAssertTrue(client.closedByServer())
    }

    /// HEAD on a GET route: the same headers, Content-Length included, and no body bytes.
    func testHeadServedByGetRoutesWithoutBody() throws {
        let client = try RawClient(port: server.port)
        client.send(get("/healthz"))
        let full = try XCTUnwrap(client.readResponse())
        client.send("HEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        let head = try XCTUnwrap(client.readResponse(headRequest: true))
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("Content-Length"), full.header("Content-Length"))
        XCTAssertEqual(head.header("Content-Type"), full.header("Content-Type"))
        client.send("HEAD /download HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(client.readResponse(headRequest: true)?.header("Content-Length"), String(TestServer.downloadSize))
        // No body bytes came after either head: the next response starts cleanly.
        client.send(get("/v1/jobs/x"))
        XCTAssertEqual(client.readResponse()?.bodyText, #"{"id":"x"}"#)
    }

    /// `Expect: 100-continue` with an acceptable size: `100 Continue`, then the final response.
    func testExpectContinue() throws {
        let client = try RawClient(port: server.port)
        client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        XCTAssertEqual(client.readResponse()?.status, 100)
        client.send("hello")
        let response = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.bodyText, "hello")
    }

    func testChunkedRequestBody() throws {
        let client = try RawClient(port: server.port)
        client.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        client.send("4\r\ndefg\r\n0\r\n\r\n")
        XCTAssertEqual(client.readResponse()?.bodyText, "abcdefg")
    }

    func testServerSentEvents() throws {
        let client = try RawClient(port: server.port)
        client.send(get("/events"))
        let response = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(response.header("Content-Type"), "text/event-stream")
        XCTAssertEqual(response.header("Cache-Control"), "no-store")
        XCTAssertEqual(response.header("Transfer-Encoding"), "chunked")
        let expected = "id: 100\nevent: metric\ndata: {\"step\":100}\n\n"
            + "id: 200\nevent: metric\ndata: line one\ndata: line two\n\n"
            + "event: end\ndata: {\"status\":\"succeeded\"}\n\n"
        XCTAssertEqual(response.bodyText.replacingOccurrences(of: ": keep-alive\n\n", with: ""), expected)
        // The connection stays usable after the stream ends.
        client.send(get("/healthz"))
        XCTAssertEqual(client.readResponse()?.status, 200)
        XCTAssertEqual(server.probe.waitForStreamEnd(), .finished)
    }

    func testStreamFedAndFinishedFromAnotherThread() throws {
        let client = try RawClient(port: server.port)
        client.send(get("/events/fed"))
        let response = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(response.bodyText.replacingOccurrences(of: ": keep-alive\n\n", with: ""),
                       "id: 1\ndata: {\"step\":1}\n\nid: 2\ndata: {\"step\":2}\n\nid: 3\ndata: {\"step\":3}\n\n")
        XCTAssertEqual(server.probe.waitForStreamEnd(), .finished)
        client.send(get("/healthz"))
        XCTAssertEqual(client.readResponse()?.status, 200)
    }

    func testChunkedResponseOfAnyContentType() throws {
        let client = try RawClient(port: server.port)
        client.send(get("/table"))
        let response = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(response.header("Content-Type"), "text/tab-separated-values")
        XCTAssertEqual(response.header("Transfer-Encoding"), "chunked")
        XCTAssertEqual(response.bodyText, "job\tscore\njob_1\t0.9\n")
    }

    func testNDJSONStreamAndHTTP10Stream() throws {
        let client = try RawClient(port: server.port)
        client.send(get("/ndjson"))
        let response = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(response.header("Content-Type"), "application/x-ndjson")
        XCTAssertEqual(response.bodyText.replacingOccurrences(of: "\n\n", with: "\n"), "{\"step\":1}\n{\"step\":2}\n")

        let old = try RawClient(port: server.port)
        old.send("GET /ndjson HTTP/1.0\r\n\r\n")
        let closeDelimited = try XCTUnwrap(old.readResponse())
        XCTAssertNil(closeDelimited.header("Transfer-Encoding"))
        XCTAssertEqual(closeDelimited.header("Connection"), "close")
        XCTAssertTrue(closeDelimited.bodyText.contains("{\"step\":2}\n"))
    }

    /// A stream whose producer writes nothing still notices the client leaving, through keep-alives.
    func testStreamNoticesDisconnectedClient() throws {
        let client = try RawClient(port: server.port)
        client.send(get("/events/quiet"))
        var head = [UInt8](repeating: 0, count: 512)
        XCTAssertGreaterThan(recv(client.descriptor, &head, head.count, 0), 0)
        let closedAt = Date()
        shutdown(client.descriptor, Int32(SHUT_RDWR))
        XCTAssertEqual(server.probe.waitForStreamEnd(), .clientDisconnected)
        XCTAssertLessThan(Date().timeIntervalSince(closedAt), 2)
    }

    func testStreamsThatKeepWritingNoticeDisconnect() throws {
        let client = try RawClient(port: server.port)
        client.send(get("/events/forever"))
        var head = [UInt8](repeating: 0, count: 512)
        XCTAssertGreaterThan(recv(client.descriptor, &head, head.count, 0), 0)
        client.reset()
        XCTAssertEqual(server.probe.waitForStreamEnd(), .clientDisconnected)
    }

    func testHandlerErrorsBecomeLogged500s() throws {
        let client = try RawClient(port: server.port)
        client.send(get("/fail"))
        let response = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(response.status, 500)
        XCTAssertTrue(response.bodyText.contains(#""code":"internal_error""#))
        XCTAssertFalse(response.bodyText.contains("Boom"), "error details stay out of the body")
        XCTAssertEqual(server.log.failures.count, 1)
        XCTAssertTrue(server.log.failures.first?.contains("Boom") ?? false)
    }

    func testAccessLogHasOneLinePerRequest() throws {
        let client = try RawClient(port: server.port)
        client.send(get("/v1/jobs/a?secret=1"))
        let response = try XCTUnwrap(client.readResponse())
        client.send(get("/nope"))
        _ = client.readResponse()
        XCTAssertTrue(server.log.wait { entries, _ in entries.count == 2 })
        let entries = server.log.entries
        guard entries.count == 2 else { return }
        XCTAssertEqual(entries[0].method, "GET")
        XCTAssertEqual(entries[0].path, "/v1/jobs/a", "the query is not logged")
        XCTAssertEqual(entries[0].status, 200)
        XCTAssertEqual(entries[0].bytes, response.body.count)
        XCTAssertEqual(entries[0].requestID, response.header("X-Request-Id"))
        XCTAssertEqual(entries[1].status, 404)
        XCTAssertNotEqual(entries[0].requestID, entries[1].requestID)
    }

    /// A thousand idle keep-alive connections hold no threads; the server keeps answering.
    func testThousandIdleConnectionsDoNotBlockService() throws {
        // Both ends live in this process: about 2,000 descriptors plus what the test runner holds.
        var descriptors = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &descriptors)
        if descriptors.rlim_cur < 2300 {
            descriptors.rlim_cur = min(descriptors.rlim_max, 4096)
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &descriptors)
            guard descriptors.rlim_cur >= 2300 else { throw XCTSkip("RLIMIT_NOFILE hard limit \(descriptors.rlim_max) is too low") }
        }
        var limits = shortLimits()
        limits.idleTimeout = 30
        let roomy = try TestServer(limits: limits)
        defer { roomy.stop() }
        var idle: [RawClient] = []
        for index in 0..<1000 {
            let client = try RawClient(port: roomy.port)
            if index % 100 == 0 {
                client.send(get("/healthz"))
                XCTAssertEqual(client.readResponse()?.status, 200)
            }
            idle.append(client)
        }
        for _ in 0..<20 {
            let client = try RawClient(port: roomy.port)
            client.send(get("/healthz"))
            XCTAssertEqual(client.readResponse()?.status, 200)
        }
        XCTAssertEqual(idle.count, 1000)
    }

    /// Graceful shutdown: in-flight requests finish (told to close), streams are told to stop and end
    /// cleanly, new connections are refused.
    func testGracefulShutdown() throws {
        let inFlight = try RawClient(port: server.port)
        inFlight.send(get("/slow"))
        let stream = try RawClient(port: server.port)
        stream.send(get("/events/forever"))
        var head = [UInt8](repeating: 0, count: 256)
        XCTAssertGreaterThan(recv(stream.descriptor, &head, head.count, 0), 0)
        // The slow request is in its handler, not still waiting to be read (an idle connection would be closed).
        server.probe.waitForSlowRequests(1)
        let port = server.port
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { [server] in
            server!.server.shutdown(gracePeriod: 2)
            done.signal()
        }
        // Streams are told to stop once shutdown has begun; only then may the in-flight handler finish.
        XCTAssertEqual(server.probe.waitForStreamEnd(), .shuttingDown)
        server.probe.releaseSlowRequests()
        let response = try XCTUnwrap(inFlight.readResponse())
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("Connection"), "close")
        // The stream's remaining bytes end with the last chunk, then the connection closes.
        stream.setTimeout(2)
        var tail: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(stream.descriptor, &chunk, chunk.count, 0)
            if count <= 0 { break }
            tail += chunk[0..<count]
        }
        XCTAssertTrue(String(decoding: tail, as: UTF8.self).hasSuffix("0\r\n\r\n"))
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        XCTAssertThrowsError(try RawClient(port: port))
    }

    func testDeadlinesRunFromTheRightMoment() {
        var limits = Limits()
        limits.headerTimeout = 10
        limits.bodyTimeout = 30
        limits.idleTimeout = 60
        let idle = Connection.deadline(readingBody: false, requestStartedAt: nil, bodyStartedAt: 0, now: 100, limits: limits)
        XCTAssertEqual(idle.deadline, 160)
        XCTAssertEqual(idle.expiry, .close)
        // A slowloris sending a byte now and then does not push the header deadline back.
        let head = Connection.deadline(readingBody: false, requestStartedAt: 95, bodyStartedAt: 0, now: 104, limits: limits)
        XCTAssertEqual(head.deadline, 105)
        XCTAssertEqual(head.expiry, .requestTimeout)
        let body = Connection.deadline(readingBody: true, requestStartedAt: 95, bodyStartedAt: 97, now: 120, limits: limits)
        XCTAssertEqual(body.deadline, 127)
        XCTAssertEqual(body.expiry, .requestTimeout)
    }

    func testAcceptBackoffDoublesToOneSecond() {
        var backoff = AcceptBackoff()
        XCTAssertEqual(backoff.next(), 0.005)
        XCTAssertEqual(backoff.next(), 0.01)
        for _ in 0..<20 { _ = backoff.next() }
        XCTAssertEqual(backoff.next(), 1)
        backoff.reset()
        XCTAssertEqual(backoff.next(), 0.005)
    }
}

/// Cases that need a server configured differently from the default test server.
final class ServerLimitTests: XCTestCase {
    func testStreamsBeyondTheLimitGet503() throws {
        var limits = shortLimits()
        limits.maxConcurrentStreams = 1
        let server = try TestServer(limits: limits)
        defer { server.stop() }
        let first = try RawClient(port: server.port)
        first.send("GET /events/quiet HTTP/1.1\r\nHost: a\r\n\r\n")
        var head = [UInt8](repeating: 0, count: 256)
        XCTAssertGreaterThan(recv(first.descriptor, &head, head.count, 0), 0)
        let second = try RawClient(port: server.port)
        second.send("GET /events HTTP/1.1\r\nHost: a\r\n\r\n")
        let refused = try XCTUnwrap(second.readResponse())
        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(refused.header("Retry-After"), "5")
        XCTAssertTrue(refused.bodyText.contains("too_many_streams"))
    }

    func testShutdownClosesIdleConnectionsAtOnce() throws {
        var limits = shortLimits()
        limits.idleTimeout = 30
        let server = try TestServer(limits: limits)
        let idle = try RawClient(port: server.port)
        idle.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(idle.readResponse()?.status, 200)
        server.stop(gracePeriod: 5)
        XCTAssertTrue(idle.closedByServer())
    }

    /// EMFILE: with no descriptor left, accept fails; the loop backs off (a handful of attempts, not a
    /// spin) and serves the waiting client once descriptors are available again. On a manual clock the back-off
    /// lasts until the test moves time past it, so no retry can happen unseen.
    func testAcceptBacksOffWhenDescriptorsRunOut() throws {
        var limits = shortLimits()
        limits.idleTimeout = 30
        let clock = ManualClock()
        let server = try TestServer(limits: limits, clock: clock)
        defer { server.stop() }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        var original = rlimit()
        XCTAssertEqual(getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &original), 0)
        // A low limit, then every remaining descriptor taken, so the server's next accept gets EMFILE.
        var lowered = original
        lowered.rlim_cur = rlim_t(try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count + 16)
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &lowered), 0)
        var fillers: [Int32] = []
        while fillers.count < 64 {
            let filler = open("/dev/null", O_RDONLY)
            if filler < 0 { break }
            fillers.append(filler)
        }
        defer { fillers.forEach { close($0) } }
        let connected = connectToLoopback(client, port: server.port)
        server.log.wait { _, failures in failures.contains { $0.hasPrefix("accept:") } }
        fillers.forEach { close($0) }
        fillers.removeAll()
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &original), 0)
        XCTAssertEqual(connected, 0)
        let attempts = server.log.failures.filter { $0.hasPrefix("accept:") }.count
        XCTAssertGreaterThan(attempts, 0, "accept never hit the descriptor limit")
        XCTAssertLessThan(attempts, 20, "accept retried \(attempts) times in 0.6 s: spinning")
        // Past the longest back-off: the loop polls the listener again.
        clock.advance(by: 1)

        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        XCTAssertEqual(send(client, request, request.count, Int32(MSG_NOSIGNAL)), request.count)
        var response = [UInt8](repeating: 0, count: 512)
        let count = recv(client, &response, response.count, 0)
        XCTAssertTrue(String(decoding: response[0..<max(0, count)], as: UTF8.self).hasPrefix("HTTP/1.1 200 OK"))
    }
}

final class ResponseSerializerTests: XCTestCase {
    func testServerOwnsFramingAndHeadersCannotSplitTheResponse() {
        var response = Response.bytes(Array("hi".utf8), contentType: "text/plain")
        response.headers.add("Content-Length", "999")
        response.headers.add("X-Evil", "a\r\nSet-Cookie: x=1")
        response.headers.add("Bad Name", "1")
        let head = ResponseSerializer.head(response, version: .http11, isHeadRequest: false, keepAlive: true, requestID: "req_1")
        let text = String(decoding: head.bytes, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        XCTAssertTrue(text.contains("Content-Length: 2\r\n"))
        XCTAssertFalse(text.contains("999"))
        XCTAssertTrue(text.contains("X-Evil: aSet-Cookie: x=1\r\n"))
        XCTAssertFalse(text.contains("Bad Name"))
        XCTAssertTrue(text.contains("X-Request-Id: req_1\r\n"))
        XCTAssertTrue(text.hasSuffix("\r\n\r\n"))
        XCTAssertTrue(head.sendsBody)
    }

    func testDateFormat() {
        XCTAssertEqual(httpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT")
    }
}
