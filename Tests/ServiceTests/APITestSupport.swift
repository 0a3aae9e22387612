import Foundation
import XCTest
import HTTP
import JobStore
@testable import Service
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

struct TestResponse {
    let status: Int
    /// Header names lowercased.
    let headers: [String: String]
    let body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object (fails the test otherwise).
    func json(file: StaticString = #filePath, line: UInt = #line) -> [String: Any] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            XCTFail("not a JSON object: \(text)", file: file, line: line)
            return [:]
        }
        return object
    }

    var error: [String: Any] { json()["error"] as? [String: Any] ?? [:] }
    var data: [[String: Any]] { json()["data"] as? [[String: Any]] ?? [] }
}

/// The API on a real `HTTP.Server` at 127.0.0.1 and an ephemeral port, over a temporary SQLite file and
/// checkpoint directory; requests go over real sockets.
class APITestCase: XCTestCase {
    /// Removed in `tearDownWithError`, after the server and store that use it have stopped.
    private var temporary: TemporaryDirectory!
    var directory: URL { temporary.url }
    var checkpointRoot: String { directory.appendingPathComponent("checkpoints").path }
    var store: JobStore!
    var server: Server!
    let clock = ManualClock(now: 1_700_000_000)
    let registry = PrometheusRegistry()
    let log = CapturingLog()
    /// Overridden by test classes that run the server with a token.
    var apiToken: String? { nil }
    var readiness: [String: Bool] = ["workers": true]
    /// Overridden by test classes that check requests against installed files; nil treats all as installed.
    var installation: Installation? { nil }
    /// Overridden by test classes that predict and export.
    var inference: Inference? { nil }
    static let leaseSeconds = 60

    static let vocabulary = SweepVocabulary(
        tasks: ["sst2", "mrpc", "cola", "rte", "qnli", "stsb", "mnli", "qqp"],
        methods: ["finetune", "bitfit", "adapter", "prefix", "lora", "unipelt-ap", "unipelt-apl", "unipelt-apl-nogate"],
        models: ["default", "minilm-l6"], defaultModel: "minilm-l6",
        hyperparameters: [("learning_rate", .number(1e-7...1)), ("epochs", .integer(1...1000)),
                          ("batch_size", .integer(1...512)), ("padding", .choice(["dynamic", "max_length"]))],
        maxJobsPerSweep: 10_000, defaultMaxAttempts: 3)

    override func setUpWithError() throws {
        temporary = try TemporaryDirectory("api")
        try FileManager.default.createDirectory(atPath: checkpointRoot, withIntermediateDirectories: true)
        store = try JobStore(path: directory.appendingPathComponent("unipelt.sqlite3").path, now: clock.now)
        let clock = self.clock
        let readinessChecks = readiness
        let installation = self.installation
        let vocabulary = {
            var vocabulary = Self.vocabulary
            vocabulary.missingTasks = installation?.missingTasks() ?? [:]
            vocabulary.missingModels = installation?.missingModels() ?? [:]
            if let installation { vocabulary.models = ["default"] + installation.modelFolders() }
            return vocabulary
        }()
        var context = APIContext(store: store, vocabulary: vocabulary, now: { clock.now },
                                 checkpointRoot: checkpointRoot, metrics: registry, apiToken: apiToken,
                                 readiness: { readinessChecks }, codeVersion: "test-1", streamPollInterval: 0.05,
                                 inference: inference)
        context.installation = installation
        var router = Router()
        registerAPIRoutes(on: &router, context: context)
        var configuration = Server.Configuration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.workerThreads = 4
        configuration.limits.streamKeepAliveInterval = 0.2
        configuration.limits.maxConcurrentStreams = 1
        configuration.log = RequestMetricsLog(wrapping: log, metrics: registry)
        server = Server(configuration: configuration, router: router)
        try server.start()
    }

    override func tearDownWithError() throws {
        server?.shutdown(gracePeriod: 1)
        XCTAssertEqual(log.failures, [], "unexpected 500s")
        store = nil
        temporary?.remove()
    }

    // MARK: Client

    /// One request on a fresh connection (`Connection: close`), read to the end.
    func send(_ method: String, _ target: String, json: String? = nil, headers: [(String, String)] = [],
              file: StaticString = #filePath, line: UInt = #line) throws -> TestResponse {
        var all = headers
        if json != nil && !all.contains(where: { $0.0.lowercased() == "content-type" }) {
            all.append(("Content-Type", "application/json"))
        }
        let connection = try RawConnection(port: server.port)
        try connection.write(Self.requestBytes(method, target, body: json.map { Array($0.utf8) }, headers: all))
        let raw = try connection.readToEnd(timeout: 20)
        return try XCTUnwrap(Self.parse(raw, method: method), "unparseable response", file: file, line: line)
    }

    func get(_ target: String, headers: [(String, String)] = []) throws -> TestResponse {
        try send("GET", target, headers: headers)
    }

    func post(_ target: String, _ json: String? = nil, headers: [(String, String)] = []) throws -> TestResponse {
        try send("POST", target, json: json, headers: headers)
    }

    static func requestBytes(_ method: String, _ target: String, body: [UInt8]?, headers: [(String, String)]) -> [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        return Array((head + "\r\n").utf8) + (body ?? [])
    }

    /// Status, headers and the de-chunked body of one complete response.
    static func parse(_ raw: [UInt8], method: String) -> TestResponse? {
        guard let split = raw.firstRange(of: Array("\r\n\r\n".utf8)) else { return nil }
        let lines = String(decoding: raw[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ")[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(raw[split.upperBound...])
        if method != "HEAD", headers["transfer-encoding"] == "chunked" {
            body = dechunk(body)
        }
        return TestResponse(status: status, headers: headers, body: body)
    }

    static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while let lineEnd = bytes[index...].firstRange(of: Array("\r\n".utf8)),
              let size = Int(String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self), radix: 16), size > 0 {
            let start = lineEnd.upperBound
            guard start + size <= bytes.count else { break }
            output += bytes[start..<start + size]
            index = start + size + 2
        }
        return output
    }

    // MARK: Fixtures

    /// `POST /v1/sweeps` of a grid; returns the sweep object.
    @discardableResult
    func createSweep(tasks: [String] = ["rte"], k: String = "[100]", seeds: [Int] = [1, 2], methods: [String] = ["lora"],
                     extra: String = "", headers: [(String, String)] = [],
                     file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let quoted = { (values: [String]) in values.map { "\"\($0)\"" }.joined(separator: ",") }
        let body = #"{"tasks":[\#(quoted(tasks))],"k":\#(k),"seeds":\#(seeds),"methods":[\#(quoted(methods))]\#(extra)}"#
        let response = try post("/v1/sweeps", body, headers: headers)
        XCTAssertEqual(response.status, 201, response.text, file: file, line: line)
        return response.json()
    }

    // MARK: Worker simulation through JobStore's claim/heartbeat/record/finish

    func claim(owner: String = "w1") throws -> ClaimedJob? {
        try store.write { try $0.claim(limit: 1, owner: owner, leaseSeconds: Self.leaseSeconds, now: clock.now) }.first
    }

    func job(_ id: String) throws -> Job { try store.read { try $0.job(id: id) } }
}

/// A client socket to the test server on loopback, with bounded reads.
final class RawConnection {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard connectToLoopback(descriptor, port: port) == 0 else { close(descriptor); throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(descriptor) }

    /// Ends both directions, as a client that goes away does.
    func hangUp() { shutdown(descriptor, Int32(SHUT_RDWR)) }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw POSIXError(.EPIPE) }
            offset += sent
        }
    }

    /// Reads what is available within `timeout`; empty at end of stream.
    func read(timeout: TimeInterval) throws -> [UInt8] {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) > 0 else { throw POSIXError(.ETIMEDOUT) }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        guard count >= 0 else { throw POSIXError(.ECONNRESET) }
        return Array(buffer.prefix(count))
    }

    func readToEnd(timeout: TimeInterval) throws -> [UInt8] {
        let deadline = Date(timeIntervalSinceNow: timeout)
        var all: [UInt8] = []
        while true {
            let chunk = try read(timeout: max(0.01, deadline.timeIntervalSinceNow))
            if chunk.isEmpty { return all }
            all += chunk
        }
    }

    /// Reads until the text received so far contains `marker`; returns all of it.
    func read(until marker: String, into received: inout [UInt8], timeout: TimeInterval) throws {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while String(decoding: received, as: UTF8.self).range(of: marker) == nil {
            let chunk = try read(timeout: max(0.01, deadline.timeIntervalSinceNow))
            guard !chunk.isEmpty else { throw POSIXError(.ECONNRESET) }
            received += chunk
        }
    }
}
