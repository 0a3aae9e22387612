import Foundation
import XCTest
import TestSupport

/// A tiny BERT and GLUE-shaped RTE data in a temporary folder, so the real `unipelt serve` binary can
/// train whole jobs in seconds: the 2-layer model of the model golden tests and 1,100 synthetic pairs.
struct TinyWorld {
    private let directory: TemporaryDirectory
    var root: URL { directory.url }
    var dataDirectory: String { root.appendingPathComponent("data").path }
    var modelDirectory: String { root.appendingPathComponent("models").path }
    var glueDirectory: String { root.appendingPathComponent("glue").path }

    init() throws {
        directory = try TemporaryDirectory("unipelt-e2e")
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ModelTests/Golden")
        let model = root.appendingPathComponent("models/tiny")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: golden.appendingPathComponent("tiny_config.json"),
                                         to: model.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(at: golden.appendingPathComponent("tiny_backbone.safetensors"),
                                         to: model.appendingPathComponent("model.safetensors"))
        // 100 entries to match the tiny config: the five specials, then words w0…w94.
        let words = (0..<95).map { "w\($0)" }
        try (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words).joined(separator: "\n")
            .write(to: model.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)

        // Pairs whose label follows a rule the model can learn: entailment when both start alike.
        var state: UInt64 = 42
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        func sentence() -> [String] { (0..<(3 + next(8))).map { _ in words[next(words.count)] } }
        func rows(_ count: Int) -> String {
            var text = "index\tsentence1\tsentence2\tlabel\n"
            for index in 0..<count {
                let first = sentence()
                var second = sentence()
                let entails = next(2) == 0
                if entails { second[0] = first[0] } else if second[0] == first[0] { second[0] = "w94" == first[0] ? "w0" : "w94" }
                text += "\(index)\t\(first.joined(separator: " "))\t\(second.joined(separator: " "))\t\(entails ? "entailment" : "not_entailment")\n"
            }
            return text
        }
        let rte = root.appendingPathComponent("glue/RTE")
        try FileManager.default.createDirectory(at: rte, withIntermediateDirectories: true)
        try rows(1_100).write(to: rte.appendingPathComponent("train.tsv"), atomically: true, encoding: .utf8)
        try rows(60).write(to: rte.appendingPathComponent("dev.tsv"), atomically: true, encoding: .utf8)
    }

    func remove() { directory.remove() }
}

/// Tests of the real binary driven with curl over a fresh `TinyWorld`; skipped when either is missing.
class TinyWorldTestCase: XCTestCase {
    var world: TinyWorld!

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: ServiceProcess.binary.path) else {
            throw XCTSkip("unipelt binary not found at \(ServiceProcess.binary.path)")
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else { throw XCTSkip("curl is not installed") }
        world = try TinyWorld()
    }

    override func tearDown() {
        world?.remove()
    }
}

/// A program of this build in a child process, its output in a log file in the world's folder.
class ChildProcess {
    let process = Process()
    let logPath: String

    init(world: TinyWorld, logName: String, arguments: [String], environment: [String: String]) throws {
        logPath = world.root.appendingPathComponent(logName).path
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = ServiceProcess.binary
        process.arguments = arguments
        process.environment = environment
        let log = FileHandle(forWritingAtPath: logPath)!
        process.standardError = log
        process.standardOutput = log
        try process.run()
    }

    /// A failing test must not leave a process behind.
    deinit {
        if process.isRunning {
            signal(SIGKILL)
            process.waitUntilExit()
        }
    }

    func logText() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for exit; nil if it is still running after `timeout` (then it is killed).
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            signal(SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }
}

/// The real `unipelt serve` binary in a child process, on a free loopback port.
final class ServiceProcess: ChildProcess {
    private(set) var port = 0

    static var binary: URL {
        // The test runner (the .xctest) sits in the build products folder next to the executables.
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("unipelt")
    }

    init(world: TinyWorld, extraEnvironment: [String: String] = [:], arguments: [String] = []) throws {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("UNIPELT_") && $0.key != "NOTIFY_SOCKET" }
        environment.merge([
            "UNIPELT_DATA_DIR": world.dataDirectory, "UNIPELT_MODEL_DIR": world.modelDirectory,
            "UNIPELT_GLUE_DIR": world.glueDirectory, "UNIPELT_DEFAULT_MODEL": "tiny",
            "UNIPELT_LISTEN_PORT": "0", "UNIPELT_WORKERS": "2", "UNIPELT_THREADS_PER_WORKER": "1",
            "UNIPELT_LEASE_SECONDS": "6", "UNIPELT_HEARTBEAT_SECONDS": "1", "UNIPELT_SHUTDOWN_TIMEOUT_SECONDS": "30",
        ]) { $1 }
        environment.merge(extraEnvironment) { $1 }
        try super.init(world: world, logName: "serve-\(UUID().uuidString.prefix(6)).log", arguments: ["serve"] + arguments,
                       environment: environment)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let match = logText().range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                port = Int(logText()[match].split(separator: ":").last!)!
                return
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw NSError(domain: "ServiceProcess", code: 1, userInfo: [NSLocalizedDescriptionKey: "serve did not start:\n\(logText())"])
    }

    /// curl against the service: (HTTP status, body, response headers).
    func curl(_ arguments: [String], path: String) throws -> (status: Int, body: Data, headers: String) {
        let headersFile = NSTemporaryDirectory() + "curl-headers-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: headersFile) }
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", "-D", headersFile, "-w", "\n%{http_code}", "--max-time", "30"] + arguments
            + ["http://127.0.0.1:\(port)\(path)"]
        let output = Pipe()
        curl.standardOutput = output
        try curl.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        // The body may be binary: split off curl's trailing "\n<status>" by bytes, not as text.
        guard let newline = data.lastIndex(of: UInt8(ascii: "\n")),
              let status = Int(String(decoding: data[(newline + 1)...], as: UTF8.self)) else {
            throw NSError(domain: "curl", code: Int(curl.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "curl failed for \(path)"])
        }
        let headers = (try? String(contentsOfFile: headersFile, encoding: .utf8)) ?? ""
        return (status, Data(data[..<newline]), headers)
    }

    func json(_ path: String, method: String = "GET", body: String? = nil, headers: [String] = [],
              file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int, object: [String: Any]) {
        var arguments = ["-X", method]
        for header in headers { arguments += ["-H", header] }
        if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
        let response = try curl(arguments, path: path)
        let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] ?? [:]
        return (response.status, object)
    }
}

extension ServiceProcess {
    /// Polls the job until it is terminal and returns it.
    func waitForJob(_ id: String, timeout: TimeInterval = 300) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let job = try json("/v1/jobs/\(id)").object
            if ["succeeded", "failed", "cancelled"].contains(job["status"] as? String ?? "") { return job }
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTFail("job \(id) did not finish; log:\n\(logText())")
        return [:]
    }

    /// Every event of the job, oldest first, across pages.
    func events(ofJob id: String) throws -> [[String: Any]] {
        var all: [[String: Any]] = []
        var after = ""
        while true {
            let page = try json("/v1/jobs/\(id)/events?limit=100\(after)").object
            all += page["data"] as? [[String: Any]] ?? []
            guard page["has_more"] as? Bool == true, let last = page["last_id"] as? String else { return all }
            after = "&after=\(last)"
        }
    }
}

