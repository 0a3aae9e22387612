import Foundation
import Checksum
import XCTest
import JobStore
import Training
@testable import Service
import TestSupport

/// The researcher's client: curl against the real server on loopback (skipped where curl is missing).
final class APICurlTests: APITestCase {
    private func curl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let curlPath = ["/usr/bin/curl", "/usr/local/bin/curl"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let curlPath else { throw XCTSkip("curl is not installed") }
        let run = try runProgram(curlPath, ["--silent", "--show-error", "--max-time", "10"] + arguments)
        if !run.errors.isEmpty { print("curl: \(run.errors)") }
        return (run.status, run.output)
    }

    func testSweepDownloadAndLiveTailWithCurl() throws {
        let base = "http://127.0.0.1:\(server.port)"
        let created = try curl(["--fail", "-H", "Content-Type: application/json", "-H", "Idempotency-Key: curl-1",
                                "-d", #"{"tasks":["rte"],"k":[100],"seeds":[1],"methods":["unipelt-apl"]}"#, base + "/v1/sweeps"])
        XCTAssertEqual(created.status, 0)
        XCTAssertTrue(created.output.contains(#""object":"sweep""#), created.output)

        let claimed = try XCTUnwrap(claim())
        let bytes = Data((0..<4096).map { UInt8($0 % 251) })
        let path = checkpointRoot + "/best.safetensors"
        try bytes.write(to: URL(fileURLWithPath: path))
        let checkpoint = try store.write {
            try $0.recordCheckpoint(claimed.lease, NewCheckpoint(name: "best", step: 1, path: path, bytes: bytes.count,
                                                                 sha256: SHA256.hex(bytes)), isBest: true, now: clock.now)
        }.checkpoint
        let target = directory.appendingPathComponent("download.safetensors").path
        let download = try curl(["--fail", "-o", target, "-D", "-",
                                 base + "/v1/jobs/\(claimed.job.id)/checkpoints/\(checkpoint.id)/content"])
        XCTAssertEqual(download.status, 0)
        XCTAssertTrue(download.output.lowercased().contains("x-checksum-sha256: \(SHA256.hex(bytes))"), download.output)
        XCTAssertEqual(FileManager.default.contents(atPath: target), bytes)

        try store.write { try $0.recordMetrics(claimed.lease, step: 1, epoch: nil, wallTime: 1, values: [NamedValue(name: "train_loss", value: 0.5)]) }
        _ = try store.write { try $0.finish(claimed.lease, result: "{}", now: clock.now) }
        let tail = try curl(["-N", "-H", "Accept: text/event-stream", base + "/v1/jobs/\(claimed.job.id)/metrics"])
        XCTAssertEqual(tail.status, 0)
        XCTAssertTrue(tail.output.hasPrefix("id: 1\nevent: metric\n"), tail.output)
        XCTAssertTrue(tail.output.hasSuffix("event: end\ndata: {\"object\":\"end\",\"status\":\"succeeded\"}\n\n"), tail.output)
    }
}
