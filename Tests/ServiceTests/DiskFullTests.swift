import Foundation
import Glibc
import XCTest
@testable import Service
import TestSupport

/// The data dir's disk fills up. POSTs get a 503 JSON error and store nothing, reads
/// keep working, the service recovers when space returns, and the database stays intact.
final class DiskFullTests: XCTestCase {
    func testFullDiskAnswers503AndLeavesTheDatabaseIntact() throws {
        guard FileManager.default.isExecutableFile(atPath: ServiceProcess.binary.path) else {
            throw XCTSkip("unipelt binary not found at \(ServiceProcess.binary.path)")
        }
        let world = try TinyWorld()
        defer { world.remove() }
        // A 4 MiB file system of its own for the data dir (needs root, as CI and the dev machines have).
        let mountPoint = world.root.appendingPathComponent("data").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint]) == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (not root?)")
        }
        defer { _ = run("/bin/umount", ["-l", mountPoint]) }

        let service = try ServiceProcess(world: world)
        let created = try service.json("/v1/sweeps", method: "POST", body: #"{"tasks": ["rte"], "k": [16], "seeds": [1], "methods": ["lora"], "dry_run": true}"#)
        XCTAssertEqual(created.status, 200, "\(created.object)")

        let filler = mountPoint + "/filler"
        fill(filler)

        let body = #"{"tasks": ["rte"], "k": [16], "seeds": [1, 2, 3], "methods": ["lora", "adapter"], "metadata": {"note": "\#(String(repeating: "x", count: 900))"}}"#
        let refused = try service.json("/v1/sweeps", method: "POST", body: body)
        XCTAssertEqual(refused.status, 503, "\(refused.object)\n\(service.logText())")
        let error = refused.object["error"] as? [String: Any]
        XCTAssertEqual(error?["code"] as? String, "disk_full", "\(refused.object)")
        XCTAssertEqual(try service.json("/v1/sweeps").status, 200, "reads keep working on a full disk")
        XCTAssertEqual(try service.json("/healthz").status, 200)

        // Space comes back: the same request now succeeds, and nothing from the refused one was stored.
        try FileManager.default.removeItem(atPath: filler)
        let accepted = try service.json("/v1/sweeps", method: "POST", body: body)
        XCTAssertEqual(accepted.status, 201, "\(accepted.object)")
        let sweeps = try service.json("/v1/sweeps").object["data"] as? [[String: Any]] ?? []
        XCTAssertEqual(sweeps.count, 1, "the refused POST left no sweep behind")

        service.signal(SIGTERM)
        XCTAssertEqual(service.waitForExit(timeout: 60), 0, service.logText())
        let check = try runProgram("/usr/bin/env", ["python3", "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('pragma integrity_check').fetchone()[0])",
                                                    mountPoint + "/unipelt.sqlite3"])
        XCTAssertEqual(check.output, "ok\n")
    }

    /// The checkpoints' disk fills while the database's does not: the job fails with `disk_full` (by the
    /// errno the checkpoint write saw) and says which file, and the service keeps serving.
    func testJobWhoseCheckpointDiskIsFullFailsAsDiskFull() throws {
        guard FileManager.default.isExecutableFile(atPath: ServiceProcess.binary.path) else {
            throw XCTSkip("unipelt binary not found at \(ServiceProcess.binary.path)")
        }
        let world = try TinyWorld()
        defer { world.remove() }
        let checkpoints = world.dataDirectory + "/checkpoints"
        try FileManager.default.createDirectory(atPath: checkpoints, withIntermediateDirectories: true)
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", checkpoints]) == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (not root?)")
        }
        defer { _ = run("/bin/umount", ["-l", checkpoints]) }
        fill(checkpoints + "/filler")

        let service = try ServiceProcess(world: world)
        let body = #"{"tasks": ["rte"], "k": [16], "seeds": [1], "methods": ["lora"], "hyperparameters": {"epochs": 1, "batch_size": 8, "max_seq_length": 32}}"#
        let created = try service.json("/v1/sweeps", method: "POST", body: body)
        XCTAssertEqual(created.status, 201, "\(created.object)")
        let sweepID = try XCTUnwrap(created.object["id"] as? String)
        var job: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, !["failed", "succeeded"].contains(job["status"] as? String ?? "") {
            Thread.sleep(forTimeInterval: 0.2)
            job = (try service.json("/v1/jobs?sweep_id=\(sweepID)").object["data"] as? [[String: Any]])?.first ?? [:]
        }
        XCTAssertEqual(job["status"] as? String, "failed", "\(job)\n\(service.logText())")
        let error = job["error"] as? [String: Any]
        XCTAssertEqual(error?["code"] as? String, "disk_full", "\(job)")
        XCTAssertTrue((error?["message"] as? String ?? "").contains(checkpoints), "\(job)")
        XCTAssertEqual(try service.json("/healthz").status, 200)

        service.signal(SIGTERM)
        XCTAssertEqual(service.waitForExit(timeout: 60), 0, service.logText())
    }

    /// Writes to `path` until its file system has no byte left.
    private func fill(_ path: String) {
        FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else { return XCTFail("cannot open \(path)") }
        for size in [64 << 10, 512, 1] {
            let chunk = Data(count: size)
            while (try? handle.write(contentsOf: chunk)) != nil {}
        }
        try? handle.close()
    }

    /// The tool's exit status, -1 when it cannot be started.
    private func run(_ tool: String, _ arguments: [String]) -> Int32 {
        (try? runProgram(tool, arguments))?.status ?? -1
    }
}
