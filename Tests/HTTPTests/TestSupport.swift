import Foundation
import XCTest
@testable import HTTP
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Timeouts small enough that timeout tests finish in a fraction of a second.
func shortLimits() -> Limits {
    var limits = Limits()
    limits.headerTimeout = 0.3
    limits.bodyTimeout = 0.3
    limits.idleTimeout = 0.5
    limits.writeTimeout = 0.3
    limits.lingerTimeout = 0.2
    limits.streamKeepAliveInterval = 0.1
    return limits
}

extension ManualClock: MonotonicClock where Seconds == Double {}

extension ManualClock where Seconds == Double {
    /// Starts well above zero, like an uptime, so no deadline arithmetic leans on zero.
    convenience init() {
        self.init(now: 1000)
    }
}

/// A counter and flags the test routes update, so tests can check what handlers ran.
final class RouteProbe: @unchecked Sendable {
    private let lock = NSCondition()
    private var _jobsCreated = 0
    private var _streamEnds: [StreamClosed] = []
    private var slowRequestsStarted = 0
    private var slowRequestsReleased = false

    var jobsCreated: Int { lock.lock(); defer { lock.unlock() }; return _jobsCreated }

    func createJob() { lock.lock(); _jobsCreated += 1; lock.unlock() }

    func streamEnded(_ reason: StreamClosed) {
        lock.lock()
        _streamEnds.append(reason)
        lock.broadcast()
        lock.unlock()
    }

    /// Waits (bounded) for a stream producer to report how its stream ended.
    func waitForStreamEnd(timeout: TimeInterval = 3) -> StreamClosed? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        lock.lock()
        defer { lock.unlock() }
        while _streamEnds.isEmpty { if !lock.wait(until: deadline) { return nil } }
        return _streamEnds.removeFirst()
    }

    /// Run by the `/slow` handler: counts it as started, then holds it until the test releases slow requests
    /// (or `timeout` passes), so a test knows a handler is busy and decides when it finishes.
    func holdSlowRequest(timeout: TimeInterval = 3) {
        let deadline = Date(timeIntervalSinceNow: timeout)
        lock.lock()
        defer { lock.unlock() }
        slowRequestsStarted += 1
        lock.broadcast()
        while !slowRequestsReleased { if !lock.wait(until: deadline) { return } }
    }

    /// Waits (bounded) until `count` slow requests have reached their handler.
    @discardableResult
    func waitForSlowRequests(_ count: Int, timeout: TimeInterval = 3) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        lock.lock()
        defer { lock.unlock() }
        while slowRequestsStarted < count { if !lock.wait(until: deadline) { return false } }
        return true
    }

    /// Lets every held slow request, and every later one, finish.
    func releaseSlowRequests() {
        lock.lock()
        slowRequestsReleased = true
        lock.broadcast()
        lock.unlock()
    }
}

/// A server on 127.0.0.1, port 0, with the routes the tests use.
final class TestServer {
    let server: Server
    let log = CapturingLog()
    let probe = RouteProbe()
    let downloadPath: String
    static let downloadSize = 8 * 1024 * 1024
    /// Repeating 0...250 so a misplaced chunk shows in a comparison.
    static let downloadContents: Data = {
        let pattern = Data((0...250).map { UInt8($0) })
        var data = Data(capacity: downloadSize + pattern.count)
        while data.count < downloadSize { data.append(pattern) }
        return data.prefix(downloadSize)
    }()

    var port: Int { server.port }

    /// `clock` times the server's deadlines and heartbeat; a `ManualClock` lets a test move it by hand.
    init(limits: Limits = shortLimits(), workerThreads: Int = 4, clock: any MonotonicClock = UptimeClock()) throws {
        downloadPath = NSTemporaryDirectory() + "unipelt-http-download-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: downloadPath,
                                       contents: Self.downloadContents)
        var configuration = Server.Configuration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.limits = limits
        configuration.workerThreads = workerThreads
        configuration.log = log
        server = Server(configuration: configuration, router: Self.routes(probe: probe, downloadPath: downloadPath),
                        clock: clock)
        try server.start()
    }

    func stop(gracePeriod: TimeInterval = 1) {
        server.shutdown(gracePeriod: gracePeriod)
        try? FileManager.default.removeItem(atPath: downloadPath)
    }

    private struct Job: Encodable { let id: String }
    private struct Boom: Error {}

    static func routes(probe: RouteProbe, downloadPath: String) -> Router {
        var router = Router()
        router.get("/healthz") { _ in .json(bytes: Array(#"{"status":"ok"}"#.utf8)) }
        router.post("/echo") { request in .bytes(request.body, contentType: "application/octet-stream") }
        router.post("/upload", options: RouteOptions(maxBodyBytes: 16 * 1024 * 1024)) { request in
            .json(bytes: Array("{\"bytes\":\(request.body.count)}".utf8))
        }
        router.post("/json", options: RouteOptions(bodyRequired: true, requiredContentType: "application/json")) { request in
            .json(bytes: request.body)
        }
        router.post("/v1/jobs") { _ in
            probe.createJob()
            return try .json(Job(id: "job_1"), status: .created)
        }
        router.get("/v1/jobs/{job_id}/checkpoints/{checkpoint_id}/content") { request in
            try .json(request.pathParameters)
        }
        router.get("/v1/jobs/{job_id}") { request in try .json(["id": request.pathParameters["job_id"]!]) }
        router.get("/v1/jobs/search") { request in try .json(["query": request.query["q"] ?? ""]) }
        router.delete("/v1/jobs/{job_id}") { _ in Response(status: .noContent) }
        router.get("/download") { _ in
            try Response.file(path: downloadPath, etag: "\"v1\"", checksumSHA256: "abc123")
        }
        router.get("/missing-file") { _ in try Response.file(path: downloadPath + ".missing") }
        router.get("/fail") { _ in throw Boom() }
        router.get("/slow") { _ in
            probe.holdSlowRequest()
            return .json(bytes: Array(#"{"slow":true}"#.utf8))
        }
        router.get("/events") { _ in
            .stream(.eventStream) { stream in
                do throws(StreamClosed) {
                    try stream.send(event: "metric", id: "100", data: #"{"step":100}"#)
                    try stream.send(event: "metric", id: "200", data: "line one\nline two")
                    try stream.send(event: "end", data: #"{"status":"succeeded"}"#)
                    probe.streamEnded(.finished)
                } catch {
                    probe.streamEnded(error)
                }
            }
        }
        router.get("/events/forever") { _ in
            .stream(.eventStream) { stream in
                var step = 0
                while stream.isOpen {
                    step += 1
                    do throws(StreamClosed) { try stream.send(event: "metric", id: String(step), data: "{}") } catch {
                        probe.streamEnded(error)
                        return
                    }
                    if stream.waitUntilClosed(timeout: 0.05) { break }
                }
                probe.streamEnded(stream.closeReason ?? .finished)
            }
        }
        router.get("/events/quiet") { _ in
            // Writes nothing: only the server's keep-alives can notice the client leaving.
            .stream(.eventStream) { stream in
                _ = stream.waitUntilClosed(timeout: 5)
                probe.streamEnded(stream.closeReason ?? .finished)
            }
        }
        router.get("/events/fed") { _ in
            // Another thread produces the events and finishes; the closure only waits.
            .stream(.eventStream) { stream in
                let feeder = Thread {
                    for step in 1...3 { try? stream.send(id: String(step), data: "{\"step\":\(step)}") }
                    stream.finish()
                }
                feeder.start()
                _ = stream.waitUntilClosed()
                probe.streamEnded(stream.closeReason ?? .finished)
            }
        }
        router.get("/table") { _ in
            .stream(.chunked(contentType: "text/tab-separated-values")) { stream in
                try? stream.write(Array("job\tscore\n".utf8))
                try? stream.write(Array("job_1\t0.9\n".utf8))
            }
        }
        router.get("/ndjson") { _ in
            .stream(.ndjson) { stream in
                try? stream.sendLine(Array(#"{"step":1}"#.utf8))
                try? stream.sendLine(Array(#"{"step":2}"#.utf8))
            }
        }
        return router
    }
}

/// A parsed response as read off a raw socket.
struct RawResponse {
    let status: Int
    let headers: [(String, String)]
    let body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A blocking client socket on 127.0.0.1 whose reads give up after `timeout`, so no test can hang.
final class RawClient {
    let descriptor: Int32
    private var buffer: [UInt8] = []
    private(set) var sawEndOfStream = false

    /// `receiveBuffer` is set before connecting, so it also bounds the TCP window the server sees.
    init(port: Int, timeout: TimeInterval = 3, receiveBuffer: Int32? = nil) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        guard connectToLoopback(descriptor, port: port) == 0 else {
            close(descriptor)
            throw SocketError("connect")
        }
        setTimeout(timeout)
    }

    deinit { close(descriptor) }

    func setTimeout(_ timeout: TimeInterval) {
        var value = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - floor(timeout)) * 1_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return }
            offset += written
        }
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    func shutdownWrite() { shutdown(descriptor, Int32(SHUT_WR)) }

    /// Closes with a reset (SO_LINGER 0) instead of a FIN.
    func reset() {
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        shutdown(descriptor, Int32(SHUT_RDWR))
    }

    /// Reads more bytes; false on EOF, error or timeout.
    @discardableResult
    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = recv(descriptor, &chunk, chunk.count, 0)
        if count == 0 { sawEndOfStream = true }
        guard count > 0 else { return false }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }

    private func readLine() -> [UInt8]? {
        while true {
            if let index = buffer.firstIndex(of: 10) {
                let line = Array(buffer[0..<index])
                buffer.removeSubrange(0...index)
                return line.last == 13 ? Array(line.dropLast()) : line
            }
            guard fill() else { return nil }
        }
    }

    private func readExactly(_ count: Int) -> [UInt8]? {
        while buffer.count < count { guard fill() else { return nil } }
        let bytes = Array(buffer[0..<count])
        buffer.removeSubrange(0..<count)
        return bytes
    }

    /// Reads one response; nil if the connection ended or timed out first. Interim 1xx responses are returned
    /// like any other, so a test can see `100 Continue`.
    func readResponse(headRequest: Bool = false) -> RawResponse? {
        guard let statusLine = readLine() else { return nil }
        let parts = String(decoding: statusLine, as: UTF8.self).split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var headers: [(String, String)] = []
        while let line = readLine(), !line.isEmpty {
            let text = String(decoding: line, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { return nil }
            headers.append((String(text[..<colon]), text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let response = RawResponse(status: status, headers: headers, body: [])
        if headRequest || status < 200 || status == 204 || status == 304 { return response }
        if let length = response.header("content-length").flatMap(Int.init) {
            guard let body = readExactly(length) else { return nil }
            return RawResponse(status: status, headers: headers, body: body)
        }
        if response.header("transfer-encoding")?.lowercased() == "chunked" {
            var body: [UInt8] = []
            while let sizeLine = readLine(), let size = Int(String(decoding: sizeLine, as: UTF8.self), radix: 16) {
                if size == 0 {
                    _ = readLine()
                    return RawResponse(status: status, headers: headers, body: body)
                }
                guard let chunk = readExactly(size), readLine() != nil else { return nil }
                body += chunk
            }
            return nil
        }
        while fill() {}
        let body = buffer
        buffer.removeAll()
        return RawResponse(status: status, headers: headers, body: body)
    }

    /// Whether the server closes the connection (EOF or reset) within the read timeout, with no further bytes.
    func closedByServer() -> Bool {
        guard buffer.isEmpty else { return false }
        var byte: UInt8 = 0
        let count = recv(descriptor, &byte, 1, 0)
        if count == 0 { return true }
        return count < 0 && (errno == ECONNRESET || errno == EPIPE)
    }
}

/// `program` on PATH, or nil.
func findExecutable(_ program: String) -> String? {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(directory)/\(program)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}
