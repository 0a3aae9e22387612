import Checksum
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Training

/// A pull worker's HTTP client of the service: one request at a time, bearer token on each, bodies from
/// memory or streamed from a file, downloads streamed to a file and checked against their SHA-256.
/// Connection failures and 503s are retried a few times (the service may be restarting); other answers
/// come back to the caller.
final class ServiceClient: @unchecked Sendable {
    struct Reply {
        let status: Int
        let body: Data
    }

    enum ClientError: Error, CustomStringConvertible {
        case unreachable(url: String, reason: String)
        /// The service refused: its status and `{"error": {"code", "message"}}`.
        case refused(status: Int, code: String, message: String)
        case checksumMismatch(url: String, expected: String, actual: String)

        var description: String {
            switch self {
            case let .unreachable(url, reason): return "cannot reach \(url): \(reason)"
            case let .refused(status, code, message): return "the service answered \(status) \(code): \(message)"
            case let .checksumMismatch(url, expected, actual):
                return "\(url) arrived with SHA-256 \(actual), not the announced \(expected)"
            }
        }

        var code: String? {
            if case let .refused(_, code, _) = self { return code }
            return nil
        }
    }

    let base: URL
    private let token: String?
    private let session: URLSession
    /// Attempts per request when the service is unreachable or answers 503, a second apart and more.
    var attempts = 5

    init(base: URL, token: String?) {
        self.base = base
        self.token = token
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 300
        session = URLSession(configuration: configuration)
    }

    /// A request whose 2xx body comes back; any other status throws `refused`.
    func send(_ method: String, _ path: String, headers: [String: String] = [:], json: Data? = nil,
              file: URL? = nil) throws -> Data {
        var request = URLRequest(url: URL(string: path, relativeTo: base)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if json != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if file != nil { request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type") }
        let reply = try withRetries(request) { request, done in
            if let file {
                return self.session.uploadTask(with: request, fromFile: file) { data, response, error in
                    done(data, response, error)
                }
            }
            var request = request
            request.httpBody = json
            return self.session.dataTask(with: request) { data, response, error in done(data, response, error) }
        }
        guard (200..<300).contains(reply.status) else { throw Self.refusal(reply) }
        return reply.body
    }

    /// Downloads `path` into `destination` (replacing it once whole) and checks its SHA-256.
    func download(_ path: String, to destination: String, sha256: String) throws {
        var request = URLRequest(url: URL(string: path, relativeTo: base)!)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let partial = destination + ".part"
        let reply = try withRetries(request) { request, done in
            self.session.downloadTask(with: request) { location, response, error in
                // The temporary file is gone once this handler returns: move it now.
                if let location {
                    try? FileManager.default.removeItem(atPath: partial)
                    try? FileManager.default.moveItem(atPath: location.path, toPath: partial)
                }
                done(Data(), response, error)
            }
        }
        guard (200..<300).contains(reply.status) else {
            throw Self.refusal(Reply(status: reply.status, body: (try? Data(contentsOf: URL(fileURLWithPath: partial))) ?? Data()))
        }
        let actual = try SHA256.hex(fileAt: partial)
        guard actual == sha256 else {
            try? FileManager.default.removeItem(atPath: partial)
            throw ClientError.checksumMismatch(url: path, expected: sha256, actual: actual)
        }
        try? FileManager.default.removeItem(atPath: destination)
        try FileManager.default.moveItem(atPath: partial, toPath: destination)
    }

    private func withRetries(_ request: URLRequest,
                             _ makeTask: (URLRequest, @escaping @Sendable (Data?, URLResponse?, Error?) -> Void) -> URLSessionTask)
        throws -> Reply {
        var lastError = ClientError.unreachable(url: request.url?.absoluteString ?? "", reason: "no attempt made")
        for attempt in 0..<max(1, attempts) {
            if attempt > 0 { Thread.sleep(forTimeInterval: Double(attempt)) }
            let finished = DispatchSemaphore(value: 0)
            let box = ResultBox()
            makeTask(request) { data, response, error in
                box.set(data, response, error)
                finished.signal()
            }.resume()
            finished.wait()
            let (data, response, error) = box.get()
            if let error {
                lastError = .unreachable(url: request.url?.absoluteString ?? "", reason: error.localizedDescription)
                continue
            }
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            if status == 503 {
                lastError = Self.refusal(Reply(status: status, body: data ?? Data()))
                continue
            }
            return Reply(status: status, body: data ?? Data())
        }
        throw lastError
    }

    private static func refusal(_ reply: Reply) -> ClientError {
        let error = (try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any])?["error"] as? [String: Any]
        return .refused(status: reply.status, code: error?["code"] as? String ?? "http_\(reply.status)",
                        message: error?["message"] as? String ?? String(decoding: reply.body.prefix(200), as: UTF8.self))
    }

    /// A completion handler's results, handed from URLSession's queue to the waiting thread.
    private final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private var value: (Data?, URLResponse?, Error?) = (nil, nil, nil)
        func set(_ data: Data?, _ response: URLResponse?, _ error: Error?) {
            lock.lock()
            value = (data, response, error)
            lock.unlock()
        }
        func get() -> (Data?, URLResponse?, Error?) {
            lock.lock()
            defer { lock.unlock() }
            return value
        }
    }
}
