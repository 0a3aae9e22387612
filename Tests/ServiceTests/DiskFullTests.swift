import Foundation
import Glibc
import Training
import XCTest
@testable import Service

/// service.md Q15: the data dir's disk fills up. POSTs get a 503 JSON error and store nothing, reads
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

        // Fill every free byte.
        let filler = mountPoint + "/filler"
        FileManager.default.createFile(atPath: filler, contents: nil)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: filler))
        let chunk = Data(count: 64 << 10)
        while (try? handle.write(contentsOf: chunk)) != nil {}
        let small = Data(count: 512)
        while (try? handle.write(contentsOf: small)) != nil {}
        try handle.close()

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
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('pragma integrity_check').fetchone()[0])",
                           mountPoint + "/unipelt.sqlite3"]
        let output = Pipe()
        check.standardOutput = output
        try check.run()
        check.waitUntilExit()
        XCTAssertEqual(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self), "ok\n")
    }

    private func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// A job whose checkpoint cannot be written for lack of space fails with `disk_full`, not a generic code.
final class DiskFullClassificationTests: XCTestCase {
    func testENOSPCWriteFailuresAreDiskFull() {
        let full = TrainingError.writeFailed(path: "/var/lib/unipelt/checkpoints/job_1/last.safetensors",
                                             reason: "write failed: \(String(cString: strerror(ENOSPC)))")
        XCTAssertTrue(JobExecution.isDiskFull(full))
        XCTAssertFalse(JobExecution.isDiskFull(.writeFailed(path: "/x", reason: String(cString: strerror(EACCES)))))
        XCTAssertFalse(JobExecution.isDiskFull(.missingData(path: "/data/glue")))
    }
}
