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
            text += "\(name): \(value)\r\n"
        }
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
