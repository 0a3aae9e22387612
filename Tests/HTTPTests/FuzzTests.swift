import Foundation
import XCTest
@testable import HTTP

/// SplitMix64: tiny, seedable, and the same on every platform, so a failing input can be regenerated.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Mutations of valid and smuggling requests: every input gives a complete request or a 4xx, never a crash or hang.
enum RequestFuzzer {
    static let seeds: [[UInt8]] = HardeningCases.all.map(\.request).filter { $0.count < 4096 } + [
        Array("GET /v1/jobs?limit=20 HTTP/1.1\r\nHost: a\r\n\r\n".utf8),
        Array("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello".utf8),
        Array("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".utf8),
        Array("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8),
    ]

    private static let fragments: [[UInt8]] = ["\r\n", "\r", "\n", ":", " ", "\t", ",", ";", "0", "5", "f", "-", "+",
        "\0", "\r\n\r\n", "Content-Length: 3\r\n", "Transfer-Encoding: chunked\r\n", "Host: b\r\n", "HTTP/1.0",
        "\u{85}", "%", "%2f", "ffffffffffffffffff\r\n"].map { Array($0.utf8) }

    static func input(_ generator: inout SeededGenerator) -> [UInt8] {
        var bytes = seeds.randomElement(using: &generator)!
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<7, using: &generator) {
            case 0 where !bytes.isEmpty: bytes[position] = UInt8.random(in: 0...255, using: &generator)
            case 1: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: position)
            case 2 where !bytes.isEmpty: bytes.remove(at: position)
            case 3: bytes.insert(contentsOf: fragments.randomElement(using: &generator)!, at: position)
            case 4: bytes = Array(bytes[..<position])
            case 5:
                let end = min(bytes.count, position + Int.random(in: 1...16, using: &generator))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            default: bytes += seeds.randomElement(using: &generator)!
            }
        }
        return bytes
    }
}

final class FuzzTests: XCTestCase {
    /// Inputs per run: a few thousand in CI; set HTTP_FUZZ_ITERATIONS=100000 for a long run.
    private var iterations: Int {
        ProcessInfo.processInfo.environment["HTTP_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 5000
    }

    /// Every input ends in complete requests, a wait for more bytes, or a parse error with a 4xx/5xx status:
    /// never a crash, and never a loop without progress (`parse(_:)` asserts that).
    func testParserSurvivesMutatedRequests() {
        var generator = SeededGenerator(seed: 0x5EED)
        var outcomes = [String: Int]()
        for _ in 0..<iterations {
            let input = RequestFuzzer.input(&generator)
            var sizes: [Int] = []
            var remaining = input.count
            while remaining > 0 {
                let size = Int.random(in: 1...max(1, remaining), using: &generator)
                sizes.append(size)
                remaining -= size
            }
            let outcome = parse(input, chunkSizes: sizes)
            if let error = outcome.error {
                XCTAssertTrue((400..<600).contains(error.status.code))
                outcomes["error \(error.status.code)", default: 0] += 1
            } else {
                outcomes[outcome.incomplete ? "incomplete" : "complete", default: 0] += 1
            }
            // The same bytes in one piece reach the same decision.
            XCTAssertEqual(parse(input).error, outcome.error)
        }
        print("fuzz: \(iterations) inputs: \(outcomes.sorted { $0.key < $1.key })")
    }

    /// A subset through real sockets: each connection gets a response or a close within the timeouts,
    /// and the server still answers afterwards.
    func testServerSurvivesMutatedRequestsOverSockets() throws {
        let server = try TestServer()
        defer { server.stop() }
        var generator = SeededGenerator(seed: 0xF00D)
        for index in 0..<40 {
            let input = RequestFuzzer.input(&generator)
            let client = try RawClient(port: server.port, timeout: 2)
            client.send(input)
            client.shutdownWrite()
            // Read everything: responses, then EOF. Bounded by the server's timeouts and the read timeout.
            var responses = 0
            while let response = client.readResponse() {
                XCTAssertTrue((100..<600).contains(response.status), "input \(index)")
                responses += 1
            }
            XCTAssertTrue(client.sawEndOfStream, "input \(index): connection neither answered nor closed")
        }
        let client = try RawClient(port: server.port)
        client.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(client.readResponse()?.status, 200)
    }
}
