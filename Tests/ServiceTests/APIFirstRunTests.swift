import Foundation
import XCTest
import JobStore
@testable import Service

/// What a first run meets: requests naming uninstalled data or models are refused before anything is
/// stored, `/v1/tasks` and `/v1/models` say what is installed, errors name the field, and a sweep can be
/// deleted with its files (`/v1/usage` shows what it held).
final class APIFirstRunTests: APITestCase {
    /// RTE installed (3 train rows, 2 dev rows); one model folder "tiny", which is not the default.
    override var installation: Installation? {
        let root = directory.appendingPathComponent("installed").path
        let rte = root + "/glue/RTE"
        try? FileManager.default.createDirectory(atPath: rte, withIntermediateDirectories: true)
        let header = "index\tsentence1\tsentence2\tlabel\n"
        try? (header + "0\ta\tb\tentailment\n1\tc\td\tnot_entailment\n\n2\te\tf\tentailment").write(
            toFile: rte + "/train.tsv", atomically: true, encoding: .utf8)
        try? (header + "0\ta\tb\tentailment\n1\tc\td\tnot_entailment\n").write(toFile: rte + "/dev.tsv", atomically: true,
                                                                                   encoding: .utf8)
        let model = root + "/models/tiny"
        try? FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ModelTests/Golden/tiny_config.json")
        try? FileManager.default.copyItem(atPath: golden.path, toPath: model + "/config.json")
        return Installation(glueDirectory: root + "/glue", modelDirectory: root + "/models", defaultModel: "minilm-l6")
    }

    private func sweepBody(tasks: String, model: String? = nil, dryRun: Bool = false) -> String {
        #"{"tasks": \#(tasks), "k": [100], "seeds": [1], "methods": ["lora"]"#
            + (model.map { #", "model": "\#($0)""# } ?? "") + (dryRun ? #", "dry_run": true"# : "") + "}"
    }

    func testUninstalledTaskOrModelIsRefusedBeforeAnythingIsStored() throws {
        for dryRun in [false, true] {
            let task = try post("/v1/sweeps", sweepBody(tasks: #"["rte", "sst2"]"#, model: "tiny", dryRun: dryRun))
            XCTAssertEqual(task.status, 422, task.text)
            XCTAssertEqual(task.error["code"] as? String, "not_installed")
            XCTAssertEqual(task.error["param"] as? String, "tasks[1]")
            XCTAssertTrue((task.error["message"] as? String ?? "").contains("unipelt data glue --tasks sst2"), task.text)

            // No "model" means the default, which is not installed here.
            let model = try post("/v1/sweeps", sweepBody(tasks: #"["rte"]"#, dryRun: dryRun))
            XCTAssertEqual(model.status, 422, model.text)
            XCTAssertEqual(model.error["param"] as? String, "model")
            XCTAssertTrue((model.error["message"] as? String ?? "").contains("deploy/setup.sh"), model.text)
        }
        let job = try post("/v1/jobs", #"{"task": "mnli", "k": 100, "seed": 1, "method": "lora", "model": "tiny"}"#)
        XCTAssertEqual(job.status, 422, job.text)
        XCTAssertEqual(job.error["param"] as? String, "task")
        XCTAssertEqual(try get("/v1/sweeps").data.count, 0)
        XCTAssertEqual(try get("/v1/jobs").data.count, 0)

        XCTAssertEqual(try post("/v1/sweeps", sweepBody(tasks: #"["rte"]"#, model: "tiny")).status, 201)
    }

    func testTasksAndModelsDescribeWhatIsInstalled() throws {
        let tasks = try get("/v1/tasks")
        XCTAssertEqual(tasks.status, 200, tasks.text)
        XCTAssertEqual(tasks.data.map { $0["name"] as? String }, ["sst2", "mrpc", "cola", "rte", "qnli", "stsb", "mnli", "qqp"])
        let rte = try XCTUnwrap(tasks.data.first { $0["name"] as? String == "rte" })
        XCTAssertEqual(rte["installed"] as? Bool, true)
        XCTAssertEqual(rte["rows"] as? [String: Int], ["train": 3, "validation": 2])
        XCTAssertEqual(rte["metric"] as? String, "accuracy")
        XCTAssertEqual(rte["labels"] as? [String], ["entailment", "not_entailment"])
        let stsb = try XCTUnwrap(tasks.data.first { $0["name"] as? String == "stsb" })
        XCTAssertEqual(stsb["installed"] as? Bool, false)
        XCTAssertTrue(stsb["rows"] is NSNull)
        XCTAssertEqual(stsb["score_range"] as? [Double], [0, 5])
        XCTAssertEqual((stsb["missing_files"] as? [String])?.count, 2)

        let models = try get("/v1/models")
        XCTAssertEqual(models.status, 200, models.text)
        XCTAssertEqual(models.data.count, 1)
        let tiny = models.data[0]
        XCTAssertEqual(tiny["name"] as? String, "tiny")
        XCTAssertEqual(tiny["default"] as? Bool, false)
        XCTAssertEqual(tiny["layers"] as? Int, 2)
        XCTAssertEqual(tiny["vocab_size"] as? Int, 100)
        XCTAssertGreaterThan(tiny["bytes_on_disk"] as? Int ?? 0, 0)
    }

    func testRepeatedAxisValuesAndMalformedQueryValuesNameTheirField() throws {
        let repeated = try post("/v1/sweeps", #"{"tasks": ["rte"], "k": [100], "seeds": [1, 2, 1], "methods": ["lora"], "model": "tiny"}"#)
        XCTAssertEqual(repeated.status, 400, repeated.text)
        XCTAssertEqual(repeated.error["param"] as? String, "seeds[2]")
        XCTAssertTrue((repeated.error["message"] as? String ?? "").contains("seeds[0]"), repeated.text)

        for (query, param) in [("sweep_id=nope", "sweep_id"), ("task=wnli", "task"), ("method=x", "method"),
                               ("limit=%zz", "limit"), ("limit=ten", "limit")] {
            let response = try get("/v1/jobs?\(query)")
            XCTAssertEqual(response.status, 400, "\(query): \(response.text)")
            XCTAssertEqual(response.error["param"] as? String, param, "\(query): \(response.text)")
        }
    }

    func testDeletingASweepRemovesItsRowsAndFilesAndIsRefusedWhileAJobRuns() throws {
        let sweep = try createSweep(seeds: [1, 2], extra: #", "model": "tiny""#)
        let sweepID = try XCTUnwrap(sweep["id"] as? String)
        let other = try XCTUnwrap(createSweep(seeds: [3], extra: #", "model": "tiny""#)["id"] as? String)
        let running = try XCTUnwrap(claim())
        let folder = "\(checkpointRoot)/\(running.job.id)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: folder + "/best.safetensors", contents: Data(count: 1_000))
        try store.write { writer in
            try writer.recordMetrics(running.lease, step: 1, epoch: 1, wallTime: 1, values: [NamedValue(name: "train_loss", value: 1)])
            _ = try writer.recordCheckpoint(running.lease, NewCheckpoint(name: "best", step: 1, path: folder + "/best.safetensors",
                                                                         bytes: 1_000, sha256: String(repeating: "a", count: 64)),
                                            isBest: true, now: clock.now)
        }
        let usage = try get("/v1/usage")
        XCTAssertEqual(usage.status, 200, usage.text)
        XCTAssertEqual(usage.json()["checkpoint_bytes"] as? Int, 1_000)
        let sweeps = try XCTUnwrap(usage.json()["sweeps"] as? [[String: Any]])
        XCTAssertEqual(sweeps.map { $0["sweep_id"] as? String }, [sweepID])
        XCTAssertEqual(sweeps.first?["bytes"] as? Int, 1_000)

        let refused = try send("DELETE", "/v1/sweeps/\(sweepID)")
        XCTAssertEqual(refused.status, 409, refused.text)
        XCTAssertEqual(refused.error["code"] as? String, "sweep_not_deletable")

        _ = try store.write { try $0.finish(running.lease, result: "{}", now: clock.now) }
        let deleted = try send("DELETE", "/v1/sweeps/\(sweepID)")
        XCTAssertEqual(deleted.status, 200, deleted.text)
        XCTAssertEqual(deleted.json()["jobs_deleted"] as? Int, 2)
        XCTAssertEqual(deleted.json()["bytes_freed"] as? Int, 1_000)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder))
        XCTAssertEqual(try get("/v1/sweeps/\(sweepID)").status, 404)
        XCTAssertEqual(try get("/v1/jobs/\(running.job.id)").status, 404)
        XCTAssertEqual(try get("/v1/jobs").data.map { $0["sweep_id"] as? String }, [other])
        XCTAssertEqual(try send("DELETE", "/v1/sweeps/\(sweepID)").status, 404)
        XCTAssertEqual((try get("/v1/usage").json()["sweeps"] as? [[String: Any]])?.count, 0)
    }

    func testFoldersLeftByAnInterruptedDeletionAreRemovedAtStart() throws {
        let sweep = try createSweep(seeds: [1], extra: #", "model": "tiny""#)
        let jobID = try XCTUnwrap((sweep["jobs"] as? [String: Any])?["first_id"] as? String)
        // A deletion that committed its rows and crashed before removing the folder leaves this one behind.
        let orphan = "job_" + String(repeating: "0", count: 24)
        for id in [jobID, orphan] {
            try FileManager.default.createDirectory(atPath: "\(checkpointRoot)/\(id)", withIntermediateDirectories: true)
        }
        XCTAssertEqual(try CheckpointFolders(root: checkpointRoot).removeOrphans(store: store), [orphan])
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(checkpointRoot)/\(jobID)"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(checkpointRoot)/\(orphan)"))
    }
}
