import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Turns a response's status and headers into the bytes of its head, adding the framing the server owns.
enum ResponseSerializer {
    struct Head {
        let bytes: [UInt8]
        /// False for HEAD requests and for statuses without a body.
        let sendsBody: Bool
    }

    /// Headers a handler may not set: the server decides framing and connection reuse.
    private static let serverOwned = ["content-length", "transfer-encoding", "connection", "x-request-id"]

    static func head(_ response: Response, version: HTTPVersion, isHeadRequest: Bool, keepAlive: Bool,
                     requestID: String) -> Head {
        let status = response.status
        var text = "\(version.rawValue) \(status.code) \(status.reason)\r\n"
        for (name, value) in response.headers where !serverOwned.contains(name.lowercased()) {
            // A name that is not a token, or CR/LF/NUL in a value, would let data split the response.
            guard !name.isEmpty, name.utf8.allSatisfy(ASCII.isTokenChar) else { continue }
            let safe = String(String.UnicodeScalarView(value.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0 != "\0" }))
            text += "\(name): \(safe)\r\n"
        }
        text += "Date: \(httpDate())\r\n"
        if status.allowsBody {
            switch response.body {
            case .empty: text += "Content-Length: 0\r\n"
            case .bytes(let bytes): text += "Content-Length: \(bytes.count)\r\n"
            case .file(let file): text += "Content-Length: \(file.length)\r\n"
            case .stream: if version == .http11 { text += "Transfer-Encoding: chunked\r\n" }
            }
        }
        if !keepAlive {
            text += "Connection: close\r\n"
        } else if version == .http10 {
            text += "Connection: keep-alive\r\n"
        }
        text += "X-Request-Id: \(requestID)\r\n\r\n"
        return Head(bytes: Array(text.utf8), sendsBody: status.allowsBody && !isHeadRequest)
    }
}

/// The current time as an IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
func httpDate(_ seconds: time_t = time(nil)) -> String {
    var clock = seconds
    var parts = tm()
    gmtime_r(&clock, &parts)
    var buffer = [Int8](repeating: 0, count: 40)
    let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
    return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
