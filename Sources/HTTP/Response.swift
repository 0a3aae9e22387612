import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A response: status, headers and a body. The server adds the framing headers (`Content-Length` or
/// `Transfer-Encoding`, `Connection`) and `X-Request-Id`; those set by a handler are replaced.
public struct Response: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: ResponseBody

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: ResponseBody = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// JSON from an `Encodable`. Encoding failures are thrown, so they become a logged 500.
    public static func json<Value: Encodable>(_ value: Value, status: HTTPStatus = .ok,
                                              encoder: JSONEncoder = JSONEncoder()) throws -> Response {
        json(bytes: Array(try encoder.encode(value)), status: status)
    }

    /// JSON already serialised by the caller.
    public static func json(bytes: [UInt8], status: HTTPStatus = .ok) -> Response {
        Response(status: status, headers: HTTPHeaders([("Content-Type", "application/json")]), body: .bytes(bytes))
    }

    public static func bytes(_ bytes: [UInt8], contentType: String, status: HTTPStatus = .ok,
                             headers: HTTPHeaders = HTTPHeaders()) -> Response {
        var all = headers
        all.set("Content-Type", contentType)
        return Response(status: status, headers: all, body: .bytes(bytes))
    }

    /// A file download streamed from disk in chunks, with `Content-Length` from the opened file and the
    /// caller's `ETag` and `X-Checksum-SHA256`. The file is opened now, so a missing file fails here.
    public static func file(path: String, contentType: String = "application/octet-stream", etag: String? = nil,
                            checksumSHA256: String? = nil, downloadName: String? = nil) throws(FileBodyError) -> Response {
        let file = try FileBody(path: path)
        var headers = HTTPHeaders([("Content-Type", contentType)])
        if let etag { headers.add("ETag", etag) }
        if let checksumSHA256 { headers.add("X-Checksum-SHA256", checksumSHA256) }
        if let downloadName {
            // Quotes and backslashes would end or escape the quoted filename.
            let safe = String(downloadName.map { $0 == "\"" || $0 == "\\" ? "_" : $0 })
            headers.add("Content-Disposition", "attachment; filename=\"\(safe)\"")
        }
        return Response(status: .ok, headers: headers, body: .file(file))
    }

    /// A long-lived stream. `produce` runs on a thread of its own once the head is sent; it writes through
    /// the `ResponseStream` and returns when done (the server then ends the response). It should return soon
    /// after `stream.isOpen` turns false: the client left or the server is shutting down.
    public static func stream(_ format: StreamFormat, headers: HTTPHeaders = HTTPHeaders(),
                              _ produce: @escaping @Sendable (ResponseStream) -> Void) -> Response {
        var all = headers
        all.set("Content-Type", format.contentType)
        all.set("Cache-Control", "no-store")
        return Response(status: .ok, headers: all, body: .stream(format, produce))
    }
}

public enum ResponseBody: Sendable {
    case empty
    case bytes([UInt8])
    case file(FileBody)
    case stream(StreamFormat, @Sendable (ResponseStream) -> Void)
}

/// The wire formats of streamed responses.
public enum StreamFormat: Sendable, Equatable {
    /// `text/event-stream`: `id:`/`event:`/`data:` records, `: keep-alive` comments.
    case eventStream
    /// `application/x-ndjson`: one JSON value per line, a blank line as keep-alive.
    case ndjson
    /// Any other content written in chunks as produced (a results table, a log). Nothing can be injected
    /// into arbitrary content, so no keep-alive is sent; a vanished client is still noticed.
    case chunked(contentType: String)

    var contentType: String {
        switch self {
        case .eventStream: return "text/event-stream"
        case .ndjson: return "application/x-ndjson"
        case .chunked(let contentType): return contentType
        }
    }

    var keepAliveBytes: [UInt8]? {
        switch self {
        case .eventStream: return Array(": keep-alive\n\n".utf8)
        case .ndjson: return Array("\n".utf8)
        case .chunked: return nil
        }
    }
}

public struct FileBodyError: HTTPErrorConvertible {
    public let path: String
    public let errno: Int32
    public var status: HTTPStatus { errno == ENOENT ? .notFound : .internalServerError }
    public var errorType: String { errno == ENOENT ? "not_found_error" : "server_error" }
    public var code: String { errno == ENOENT ? "file_not_found" : "internal_error" }
    // The path is server-internal; the body says only what failed.
    public var message: String { errno == ENOENT ? "file not found" : "file could not be read" }
}

/// An open file sent as a body; the descriptor is closed when the last reference goes.
public final class FileBody: @unchecked Sendable {
    let descriptor: Int32
    public let length: Int

    init(path: String) throws(FileBodyError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileBodyError(path: path, errno: errno) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            let code = errno
            close(descriptor)
            throw FileBodyError(path: path, errno: code == 0 ? EISDIR : code)
        }
        self.descriptor = descriptor
        self.length = Int(info.st_size)
    }

    deinit { close(descriptor) }
}
