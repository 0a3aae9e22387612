import Foundation
import Checksum
import XCTest
import JobStore
import Training
@testable import Service

final class APICheckpointsTests: APITestCase {
    private let contents = Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })

    /// A running job with a `best` checkpoint file under the checkpoint root and its row.
    private func jobWithCheckpoint(path: String? = nil) throws -> (job: ClaimedJob, checkpoint: Checkpoint) {
        try createSweep(seeds: [1])
        let claimed = try XCTUnwrap(claim())
        let directory = checkpointRoot + "/" + claimed.job.id
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = path ?? directory + "/best-100.safetensors"
        try contents.write(to: URL(fileURLWithPath: file))
        let new = NewCheckpoint(name: "best", step: 100, path: file, bytes: contents.count,
                                sha256: SHA256.hex(contents), metrics: #"{"valid_acc":0.7}"#)
        let recorded = try store.write { try $0.recordCheckpoint(claimed.lease, new, isBest: true, now: clock.now) }
        return (claimed, recorded.checkpoint)
    }

    func testListAndDownloadWithChecksumHeaders() throws {
        let (claimed, checkpoint) = try jobWithCheckpoint()
        let list = try get("/v1/jobs/\(claimed.job.id)/checkpoints")
        let listed = try XCTUnwrap(list.data.first)
        XCTAssertEqual(listed["id"] as? String, checkpoint.id)
        XCTAssertEqual(listed["object"] as? String, "checkpoint")
        XCTAssertEqual(listed["step"] as? Int, 100)
        XCTAssertEqual(listed["bytes"] as? Int, contents.count)
        XCTAssertEqual(listed["sha256"] as? String, SHA256.hex(contents))
        XCTAssertEqual(listed["is_best"] as? Bool, true)
        XCTAssertEqual((listed["metrics"] as? [String: Double])?["valid_acc"], 0.7)
        XCTAssertEqual(try get("/v1/jobs/\(claimed.job.id)").json()["best_checkpoint_id"] as? String, checkpoint.id)

        let url = "/v1/jobs/\(claimed.job.id)/checkpoints/\(checkpoint.id)/content"
        let download = try get(url)
        XCTAssertEqual(download.status, 200)
        XCTAssertEqual(download.headers["content-type"], "application/octet-stream")
        XCTAssertEqual(download.headers["content-length"], String(contents.count))
        XCTAssertEqual(download.headers["x-checksum-sha256"], SHA256.hex(contents))
        XCTAssertEqual(download.headers["etag"], "\"\(SHA256.hex(contents))\"")
        XCTAssertEqual(Data(download.body), contents)
        XCTAssertEqual(SHA256.hex(Data(download.body)), download.headers["x-checksum-sha256"])

        let head = try send("HEAD", url)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.headers["content-length"], String(contents.count))
        XCTAssertEqual(head.headers["x-checksum-sha256"], SHA256.hex(contents))
        XCTAssertEqual(head.body, [])
    }

    func testTraversalAndUnknownIdsNeverServeAFile() throws {
        let (claimed, checkpoint) = try jobWithCheckpoint()
        let job = claimed.job.id
        let attempts = [
            "/v1/jobs/\(job)/checkpoints/../../../../etc/passwd/content",
            "/v1/jobs/\(job)/checkpoints/%2e%2e/content",
            "/v1/jobs/\(job)/checkpoints/..%2f..%2fetc%2fpasswd/content",
            "/v1/jobs/..%2f..%2fetc/passwd/checkpoints/x/content",
            "/v1/jobs/\(job)/checkpoints/%2Fetc%2Fpasswd/content",
            "/v1/jobs/\(job)/checkpoints/ckpt_..%2f..%2f/content",
            "/v1/jobs/\(job)/checkpoints/\(checkpoint.id)%00/content",
            "/v1/jobs/\(job)/checkpoints/best/content",
            "/v1/jobs/\(job)/checkpoints/ckpt_000000000000000000000000/content",
            "/v1/jobs/job_000000000000000000000000/checkpoints/\(checkpoint.id)/content",
        ]
        for target in attempts {
            let response = try get(target)
            XCTAssertTrue([400, 404].contains(response.status), "\(target): \(response.status)")
            XCTAssertNotEqual(response.headers["content-type"], "application/octet-stream", target)
            XCTAssertNotNil(response.json()["error"], target)
        }
    }

    func testARowPointingOutsideTheRootOrAtAMissingFileIsNotServed() throws {
        let outside = directory.appendingPathComponent("outside.safetensors").path
        let (claimed, checkpoint) = try jobWithCheckpoint(path: outside)
        let response = try get("/v1/jobs/\(claimed.job.id)/checkpoints/\(checkpoint.id)/content")
        XCTAssertEqual(response.status, 404)
        XCTAssertEqual(response.error["code"] as? String, "checkpoint_not_found")

        // A symlink inside the root that leads outside is resolved and refused too.
        let link = checkpointRoot + "/link.safetensors"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: outside)
        let linked = NewCheckpoint(name: "last", step: 200, path: link, bytes: contents.count, sha256: SHA256.hex(contents))
        let linkRow = try store.write { try $0.recordCheckpoint(claimed.lease, linked, isBest: false, now: clock.now) }.checkpoint
        XCTAssertEqual(try get("/v1/jobs/\(claimed.job.id)/checkpoints/\(linkRow.id)/content").status, 404)

        let inside = checkpointRoot + "/gone.safetensors"
        let gone = NewCheckpoint(name: "gone", step: 300, path: inside, bytes: 1, sha256: String(repeating: "a", count: 64))
        let goneRow = try store.write { try $0.recordCheckpoint(claimed.lease, gone, isBest: false, now: clock.now) }.checkpoint
        XCTAssertEqual(try get("/v1/jobs/\(claimed.job.id)/checkpoints/\(goneRow.id)/content").status, 404)
        let list = try get("/v1/jobs/\(claimed.job.id)/checkpoints").data
        XCTAssertEqual(list.compactMap { $0["is_best"] as? Bool }, [true, false, false])
    }
}
