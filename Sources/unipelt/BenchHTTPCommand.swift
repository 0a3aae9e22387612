import Foundation
import HTTP

/// `unipelt bench http`: serves a small JSON GET, a health route and an echo route on loopback for wrk and the
/// h11 differential script, until SIGINT/SIGTERM.
enum BenchHTTPCommand: CLICommand {
    static let name = "bench http"
    static let summary = "serve a small JSON route for wrk"
    static let usage = """
    usage: unipelt bench http [--host ADDRESS] [--port PORT] [--workers N] [--quiet]
      serves GET /v1/bench (small JSON), GET /healthz and POST /v1/echo (body back, for
    Tests/Scripts/h11_differential.py); --quiet drops the access log
    """

    private struct Sample: Encodable {
        let object = "list"
        let data = [["id": "job_1", "status": "succeeded"], ["id": "job_2", "status": "running"]]
        let has_more = false
    }

    private struct SilentLog: ServerLog {
        func access(_ entry: AccessLogEntry) {}
        func failure(_ message: String, requestID: String?) {
            FileHandle.standardError.write(Data("error request_id=\(requestID ?? "-") \(message)\n".utf8))
        }
    }

    static func run(_ arguments: [String]) throws {
        var configuration = Server.Configuration()
        var remaining = arguments[...]
        while let flag = remaining.popFirst() {
            switch flag {
            case "--host": configuration.host = try value(for: flag, from: &remaining)
            case "--port": configuration.port = try integer(for: flag, from: &remaining)
            case "--workers": configuration.workerThreads = try integer(for: flag, from: &remaining)
            case "--quiet": configuration.log = SilentLog()
            default: throw CommandLineError(message: "unknown option '\(flag)'\n\(usage)")
            }
        }
        let body = Array(try JSONEncoder().encode(Sample()))
        var router = Router()
        router.get("/v1/bench") { _ in .json(bytes: body) }
        router.get("/healthz") { _ in .json(bytes: Array(#"{"status":"ok"}"#.utf8)) }
        router.post("/v1/echo") { request in .bytes(request.body, contentType: "application/octet-stream") }

        let server = Server(configuration: configuration, router: router)
        let termination = TerminationSignal()
        try server.start()
        print("listening on \(configuration.host):\(server.port)")
        fflush(stdout)

        termination.wait()
        server.shutdown(gracePeriod: 5)
    }

    private static func value(for flag: String, from arguments: inout ArraySlice<String>) throws -> String {
        guard let value = arguments.popFirst() else { throw CommandLineError(message: "\(flag) needs a value") }
        return value
    }

    private static func integer(for flag: String, from arguments: inout ArraySlice<String>) throws -> Int {
        let text = try value(for: flag, from: &arguments)
        guard let number = Int(text), number >= 0 else { throw CommandLineError(message: "\(flag): not a number: \(text)") }
        return number
    }
}

struct CommandLineError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
