import Foundation
import Glibc
import XCTest
import TestSupport

/// A first run through the real binary: the serve flags and their precedence, requests naming uninstalled
/// data refused before anything is stored, `/v1/tasks` and `/v1/models`, deleting a sweep with its files.
final class FirstRunTests: TinyWorldTestCase {

    /// `unipelt config` prints what `serve` with the same options and environment would use.
    private func config(_ environment: [String], _ arguments: [String]) throws -> [String: String] {
        let run = try runProgram("/usr/bin/env", ["-i"] + environment + [ServiceProcess.binary.path, "config"] + arguments)
        XCTAssertEqual(run.status, 0, run.errors)
        return Dictionary(uniqueKeysWithValues: run.output.split(separator: "\n").map { line in
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            return (parts[0], parts.count > 1 ? parts[1] : "")
        })
    }

    func testFlagsOverrideEnvironmentOverrideFileOverrideDefaults() throws {
        let file = world.root.appendingPathComponent("test.conf").path
        try "listen_port = 7000\ndata_dir = file-dir\nworkers = 3\n".write(toFile: file, atomically: true, encoding: .utf8)
        let all = try config(["UNIPELT_LISTEN_PORT=8000", "UNIPELT_DATA_DIR=env-dir"],
                             ["--config", file, "--port", "9000", "--listen", "127.0.0.2"])
        XCTAssertEqual(all["listen_port"], "9000")
        XCTAssertEqual(all["listen_address"], "127.0.0.2")
        XCTAssertEqual(all["data_dir"], "env-dir")
        XCTAssertEqual(all["workers"], "3")
        XCTAssertEqual(all["lease_seconds"], "60")
        XCTAssertEqual(try config(["UNIPELT_LISTEN_PORT=8000"], ["--config", file])["listen_port"], "8000")
        XCTAssertEqual(try config([], ["--config", file])["listen_port"], "7000")
        XCTAssertEqual(try config([], [])["listen_port"], "8080")

        let bad = try runProgram(ServiceProcess.binary.path, ["config", "--port", "eighty"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.errors.contains("command-line flag --port"), bad.errors)
        let unknown = try runProgram(ServiceProcess.binary.path, ["serve", "--threads", "2"])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.errors.contains("unexpected argument '--threads'"), unknown.errors)
    }

    func testServeFlagsRefusalsAndWhatIsInstalled() throws {
        // --data-dir wins over UNIPELT_DATA_DIR, which ServiceProcess sets.
        let flagDirectory = world.root.appendingPathComponent("flag-data").path
        let service = try ServiceProcess(world: world, arguments: ["--data-dir", flagDirectory, "--port", "0", "--listen", "127.0.0.1"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: flagDirectory + "/unipelt.sqlite3"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: world.dataDirectory + "/unipelt.sqlite3"))

        let refused = try service.json("/v1/sweeps", method: "POST",
                                       body: #"{"tasks": ["rte", "sst2"], "k": [16], "seeds": [1], "methods": ["lora"]}"#)
        XCTAssertEqual(refused.status, 422)
        let error = try XCTUnwrap(refused.object["error"] as? [String: Any])
        XCTAssertEqual(error["param"] as? String, "tasks[1]")
        XCTAssertTrue((error["message"] as? String ?? "").contains("unipelt data glue --tasks sst2 --dir \(world.glueDirectory)"), "\(error)")
        XCTAssertEqual((try service.json("/v1/sweeps").object["data"] as? [Any])?.count, 0)

        let tasks = try XCTUnwrap(try service.json("/v1/tasks").object["data"] as? [[String: Any]])
        XCTAssertEqual(tasks.filter { $0["installed"] as? Bool == true }.map { $0["name"] as? String }, ["rte"])
        XCTAssertEqual(tasks.first { $0["name"] as? String == "rte" }?["rows"] as? [String: Int], ["train": 1_100, "validation": 60])
        let models = try XCTUnwrap(try service.json("/v1/models").object["data"] as? [[String: Any]])
        XCTAssertEqual(models.map { $0["name"] as? String }, ["tiny"])
        XCTAssertEqual(models.first?["default"] as? Bool, true)
        XCTAssertEqual(models.first?["hidden_size"] as? Int, 32)
        service.signal(SIGTERM)
        XCTAssertEqual(service.waitForExit(timeout: 60), 0)
    }

    func testDeleteRemovesRowsAndFilesAndLeftoversGoAtTheNextStart() throws {
        var service = try ServiceProcess(world: world)
        let body = #"{"tasks": ["rte"], "k": [16], "seeds": [1], "methods": ["lora"], "hyperparameters": {"epochs": 1, "batch_size": 8, "max_seq_length": 32}}"#
        let sweepID = try XCTUnwrap(try service.json("/v1/sweeps", method: "POST", body: body).object["id"] as? String)
        let deadline = Date().addingTimeInterval(120)
        while try service.json("/v1/sweeps/\(sweepID)").object["status"] as? String != "completed" && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.2)
        }
        let jobs = try XCTUnwrap(try service.json("/v1/jobs?sweep_id=\(sweepID)").object["data"] as? [[String: Any]])
        let jobID = try XCTUnwrap(jobs.first?["id"] as? String)
        let folder = world.dataDirectory + "/checkpoints/" + jobID
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder))
        let usage = try service.json("/v1/usage").object
        let sweeps = try XCTUnwrap(usage["sweeps"] as? [[String: Any]])
        XCTAssertEqual(sweeps.first?["sweep_id"] as? String, sweepID)
        let bytes = try XCTUnwrap(sweeps.first?["bytes"] as? Int)
        XCTAssertGreaterThan(bytes, 0)
        XCTAssertGreaterThan(usage["database_bytes"] as? Int ?? 0, 0)

        let deleted = try service.json("/v1/sweeps/\(sweepID)", method: "DELETE")
        XCTAssertEqual(deleted.status, 200, "\(deleted.object)")
        XCTAssertEqual(deleted.object["bytes_freed"] as? Int, bytes)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder))
        XCTAssertEqual(try service.json("/v1/jobs/\(jobID)").status, 404)
        XCTAssertEqual((try service.json("/v1/usage").object["sweeps"] as? [Any])?.count, 0)

        // A deletion that crashed after its commit leaves a folder no row names; the next start removes it.
        service.signal(SIGTERM)
        XCTAssertEqual(service.waitForExit(timeout: 60), 0)
        let leftover = world.dataDirectory + "/checkpoints/job_" + String(repeating: "a", count: 24)
        try FileManager.default.createDirectory(atPath: leftover, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: leftover + "/last.safetensors", contents: Data(count: 10))
        service = try ServiceProcess(world: world)
        XCTAssertFalse(FileManager.default.fileExists(atPath: leftover))
        XCTAssertTrue(service.logText().contains("removed 1 checkpoint folders"), service.logText())
        service.signal(SIGTERM)
        XCTAssertEqual(service.waitForExit(timeout: 60), 0)
    }
}
