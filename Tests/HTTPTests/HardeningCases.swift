/// One raw request and the server's expected answer. The ids' H-numbers only group the cases by topic.
struct HardeningCase {
    let id: String
    let request: [UInt8]
    /// Acceptable statuses; the first response must have one of them.
    let statuses: Set<Int>
    /// Whether the server must close after answering; if not, the connection must serve another request.
    let closes: Bool
    /// Half-close the client's sending side after the request (a short body must not hang the server).
    var shutdownWrite = false
    /// Expected response body, when it matters.
    var body: String? = nil

    init(_ id: String, _ request: String, _ statuses: Set<Int>, closes: Bool, shutdownWrite: Bool = false, body: String? = nil) {
        self.init(id, Array(request.utf8), statuses, closes: closes, shutdownWrite: shutdownWrite, body: body)
    }

    init(_ id: String, _ request: [UInt8], _ statuses: Set<Int>, closes: Bool, shutdownWrite: Bool = false, body: String? = nil) {
        self.id = id
        self.request = request
        self.statuses = statuses
        self.closes = closes
        self.shutdownWrite = shutdownWrite
        self.body = body
    }
}

enum HardeningCases {
    static func post(_ headers: String, body: String = "", path: String = "/echo") -> String {
        "POST \(path) HTTP/1.1\r\nHost: a\r\n\(headers)\r\n\(body)"
    }

    static func chunked(_ body: String) -> String {
        post("Transfer-Encoding: chunked\r\n", body: body)
    }

    static func get(_ line: String = "GET /healthz HTTP/1.1", headers: String) -> String {
        "\(line)\r\n\(headers)\r\n"
    }

    static let bigTrailer = "X-T: " + String(repeating: "t", count: 17 * 1024) + "\r\n"

    static let all: [HardeningCase] = [
        // Framing and smuggling
        HardeningCase("H1 CL and TE", post("Content-Length: 13\r\nTransfer-Encoding: chunked\r\n", body: "0\r\n\r\n"), [400], closes: true),
        HardeningCase("H1 TE and CL", post("Transfer-Encoding: chunked\r\nContent-Length: 13\r\n", body: "0\r\n\r\n"), [400], closes: true),
        HardeningCase("H2 two CL", post("Content-Length: 5\r\nContent-Length: 10\r\n", body: "hello"), [400], closes: true),
        HardeningCase("H3 CL list", post("Content-Length: 5, 5\r\n", body: "hello"), [400], closes: true),
        HardeningCase("H4 CL +5", post("Content-Length: +5\r\n", body: "hello"), [400], closes: true),
        HardeningCase("H4 CL -1", post("Content-Length: -1\r\n", body: "hello"), [400], closes: true),
        HardeningCase("H4 CL 0x10", post("Content-Length: 0x10\r\n", body: "hello"), [400], closes: true),
        HardeningCase("H4 CL 1_0", post("Content-Length: 1_0\r\n", body: "hello"), [400], closes: true),
        HardeningCase("H4 CL 5 5", post("Content-Length: 5 5\r\n", body: "hello"), [400], closes: true),
        HardeningCase("H4 CL empty", post("Content-Length: \r\n", body: "hello"), [400], closes: true),
        HardeningCase("H4 CL Arabic digits", post("Content-Length: ١٢\r\n", body: "hello"), [400], closes: true),
        HardeningCase("H5 CL 005", post("Content-Length: 005\r\n", body: "hello"), [200], closes: false, body: "hello"),
        HardeningCase("H5 CL with OWS", post("Content-Length: 5 \r\n", body: "hello"), [200], closes: false, body: "hello"),
        HardeningCase("H6 CL overflow", post("Content-Length: 100000000000000000000\r\n", body: "hello"), [400], closes: true),
        HardeningCase("H7 TE xchunked", post("Transfer-Encoding: xchunked\r\n", body: "0\r\n\r\n"), [400, 501], closes: true),
        HardeningCase("H7 TE trailing space", post("Transfer-Encoding: chunked \r\n", body: "0\r\n\r\n"), [400, 501], closes: true),
        HardeningCase("H7 TE leading comma", post("Transfer-Encoding: ,chunked\r\n", body: "0\r\n\r\n"), [400, 501], closes: true),
        HardeningCase("H7 TE twice in a list", post("Transfer-Encoding: chunked, chunked\r\n", body: "0\r\n\r\n"), [400, 501], closes: true),
        HardeningCase("H7 TE two fields", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", body: "0\r\n\r\n"), [400, 501], closes: true),
        HardeningCase("H7 TE identity", post("Transfer-Encoding: identity\r\n", body: "0\r\n\r\n"), [400, 501], closes: true),
        HardeningCase("H7 TE gzip, chunked", post("Transfer-Encoding: gzip, chunked\r\n", body: "0\r\n\r\n"), [400, 501], closes: true),
        HardeningCase("H8 space before colon", post("Transfer-Encoding : chunked\r\n", body: "0\r\n\r\n"), [400], closes: true),
        HardeningCase("H9 TE in HTTP/1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", [400], closes: true),
        HardeningCase("H10 chunk size 0x5", chunked("0x5\r\nhello\r\n0\r\n\r\n"), [400], closes: true),
        HardeningCase("H10 chunk size +5", chunked("+5\r\nhello\r\n0\r\n\r\n"), [400], closes: true),
        HardeningCase("H10 chunk size _5", chunked("_5\r\nhello\r\n0\r\n\r\n"), [400], closes: true),
        HardeningCase("H10 chunk size empty line", chunked("\r\nhello\r\n0\r\n\r\n"), [400], closes: true),
        HardeningCase("H10 chunk size 17 digits", chunked("00000000000000005\r\nhello\r\n0\r\n\r\n"), [400], closes: true),
        HardeningCase("H10 chunk size with space", chunked("5 \r\nhello\r\n0\r\n\r\n"), [400], closes: true),
        HardeningCase("H11 bare CR in chunk ext", chunked("2\r\r;a\r\nhi\r\n0\r\n\r\n"), [400], closes: true),
        HardeningCase("H12 chunk without CRLF", chunked("3\r\nabcX\r\n0\r\n\r\n"), [400], closes: true),
        HardeningCase("H13 small trailer", chunked("5;ext=1\r\nhello\r\n0\r\nX-Trailer: yes\r\n\r\n"), [200], closes: false, body: "hello"),
        HardeningCase("H13 huge trailer", chunked("5\r\nhello\r\n0\r\n" + bigTrailer + "\r\n"), [431], closes: true),
        HardeningCase("H14 short body then half-close", post("Content-Length: 10\r\n", body: "abc"), [400], closes: true, shutdownWrite: true),
        // Request line and headers
        HardeningCase("H16 no Host", "GET /healthz HTTP/1.1\r\n\r\n", [400], closes: true),
        HardeningCase("H16 HTTP/1.0 without Host is fine", "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", [200], closes: false),
        HardeningCase("H17 two Host", get(headers: "Host: a\r\nHost: b\r\n"), [400], closes: true),
        HardeningCase("H18 NUL in value", get(headers: "Host: a\r\nX-A: a\u{0}b\r\n"), [400], closes: true),
        HardeningCase("H18 bare CR in value", get(headers: "Host: a\r\nX-A: a\rb\r\n"), [400], closes: true),
        HardeningCase("H18 bare LF in value", get(headers: "Host: a\r\nX-A: a\nb\r\n"), [400], closes: true),
        HardeningCase("H19 name with 0x85", Array("GET /healthz HTTP/1.1\r\nHost: a\r\nX".utf8) + [0x85] + Array(": 1\r\n\r\n".utf8), [400], closes: true),
        HardeningCase("H19 name with 0xA0", Array("GET /healthz HTTP/1.1\r\nHost: a\r\nX".utf8) + [0xA0] + Array(": 1\r\n\r\n".utf8), [400], closes: true),
        HardeningCase("H19 name with space", get(headers: "Host: a\r\nX A: 1\r\n"), [400], closes: true),
        HardeningCase("H19 name with (", get(headers: "Host: a\r\nX(: 1\r\n"), [400], closes: true),
        HardeningCase("H19 empty name", get(headers: "Host: a\r\n: x\r\n"), [400], closes: true),
        HardeningCase("H20 obs-fold", get(headers: "Host: a\r\nX: a\r\n b\r\n"), [400], closes: true),
        HardeningCase("H21 bare LF line endings", "GET /healthz HTTP/1.1\nHost: a\n\n", [400], closes: true),
        HardeningCase("H22 HTTP/1.32", get("GET /healthz HTTP/1.32", headers: "Host: a\r\n"), [400, 505], closes: true),
        HardeningCase("H22 HTTP/2.0", get("GET /healthz HTTP/2.0", headers: "Host: a\r\n"), [505], closes: true),
        HardeningCase("H22 HTTP/0.9", "GET /healthz\r\n\r\n", [400], closes: true),
        HardeningCase("H22 lower-case method", get("get /healthz HTTP/1.1", headers: "Host: a\r\n"), [400], closes: true),
        HardeningCase("H22 absolute-form target", get("GET http://a/healthz HTTP/1.1", headers: "Host: a\r\n"), [400], closes: true),
        HardeningCase("H22 double space", get("GET  /healthz HTTP/1.1", headers: "Host: a\r\n"), [400], closes: true),
        HardeningCase("H23 request line 8 KiB", get("GET /" + String(repeating: "a", count: 8192 - 14) + " HTTP/1.1", headers: "Host: a\r\n"), [404], closes: false),
        HardeningCase("H23 request line 8 KiB + 1", get("GET /" + String(repeating: "a", count: 8192 - 13) + " HTTP/1.1", headers: "Host: a\r\n"), [414], closes: true),
        HardeningCase("H24 header section 16 KiB", get(headers: "Host: a\r\nX: " + String(repeating: "x", count: 16384 - 16) + "\r\n"), [200], closes: false),
        HardeningCase("H24 header section 16 KiB + 1", get(headers: "Host: a\r\nX: " + String(repeating: "x", count: 16384 - 15) + "\r\n"), [431], closes: true),
        HardeningCase("H24 100 fields", get(headers: "Host: a\r\n" + (1..<100).map { "X-\($0): 1\r\n" }.joined()), [200], closes: false),
        HardeningCase("H24 101 fields", get(headers: "Host: a\r\n" + (1...100).map { "X-\($0): 1\r\n" }.joined()), [431], closes: true),
        HardeningCase("H25 %zz", get("GET /v1/jobs/%zz HTTP/1.1", headers: "Host: a\r\n"), [400], closes: false),
        HardeningCase("H25 %00", get("GET /v1/jobs/a%00b HTTP/1.1", headers: "Host: a\r\n"), [400], closes: false),
        HardeningCase("H25 truncated %", get("GET /v1/jobs/a%2 HTTP/1.1", headers: "Host: a\r\n"), [400], closes: false),
        HardeningCase("H25 query %zz", get("GET /v1/jobs/search?q=%zz HTTP/1.1", headers: "Host: a\r\n"), [400], closes: false),
        HardeningCase("H25 traversal", get("GET /v1/jobs/..%2f..%2fetc/passwd/checkpoints/x/content HTTP/1.1", headers: "Host: a\r\n"), [400, 404], closes: false),
        HardeningCase("H25 encoded slash in a parameter", get("GET /v1/jobs/a%2Fb/checkpoints/x/content HTTP/1.1", headers: "Host: a\r\n"), [400], closes: false),
        HardeningCase("H25 dot-dot segment", get("GET /v1/jobs/../checkpoints/x/content HTTP/1.1", headers: "Host: a\r\n"), [400], closes: false),
        HardeningCase("H25 encoded dot-dot", get("GET /v1/jobs/%2e%2e/checkpoints/x/content HTTP/1.1", headers: "Host: a\r\n"), [400], closes: false),
        HardeningCase("H25 invalid UTF-8", get("GET /v1/jobs/%ff HTTP/1.1", headers: "Host: a\r\n"), [400], closes: false),
        HardeningCase("H26 unknown route", get("GET /nope HTTP/1.1", headers: "Host: a\r\n"), [404], closes: false),
        HardeningCase("H26 wrong method", get("PUT /healthz HTTP/1.1", headers: "Host: a\r\nContent-Length: 0\r\n"), [405], closes: false),
        HardeningCase("H26 wrong method with a body", post("Content-Length: 5\r\n", body: "hello", path: "/healthz"), [405], closes: true),
        // Bodies and Expect
        HardeningCase("H27 body over the limit", post("Content-Length: 2000000\r\n"), [413], closes: true),
        HardeningCase("H27 chunked body over the limit", chunked("100001\r\n"), [413], closes: true),
        HardeningCase("H29 Expect with body over the limit", post("Content-Length: 2000000\r\nExpect: 100-continue\r\n"), [413], closes: true),
        HardeningCase("H30 Expect something else", post("Content-Length: 5\r\nExpect: something-else\r\n", body: "hello"), [417], closes: true),
        HardeningCase("H31 wrong Content-Type", post("Content-Length: 2\r\nContent-Type: text/plain\r\n", body: "{}", path: "/json"), [415], closes: true),
        HardeningCase("H31 JSON Content-Type with parameters", post("Content-Length: 2\r\nContent-Type: application/json; charset=utf-8\r\n", body: "{}", path: "/json"), [200], closes: false, body: "{}"),
        HardeningCase("H33 POST without length", post("Content-Type: application/json\r\n", path: "/json"), [411], closes: false),
        HardeningCase("H43 204 has no body", "DELETE /v1/jobs/job_1 HTTP/1.1\r\nHost: a\r\n\r\n", [204], closes: false),
    ]
}
