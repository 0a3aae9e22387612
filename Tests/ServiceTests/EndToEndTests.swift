import Foundation
import Checksum
import Glibc
import Model
import Service
import TestSupport
import Text
import Training
import XCTest

/// The real `unipelt serve` binary on a loopback port with a temporary data dir and a tiny model,
/// driven with curl.
final class EndToEndTests: TinyWorldTestCase {

    private let sweepBody = #"{"name": "e2e", "tasks": ["rte"], "k": [16], "seeds": [1, 2], "methods": ["lora", "unipelt-apl"], "hyperparameters": {"epochs": 3, "batch_size": 8, "max_seq_length": 32}}"#

    /// Polls the sweep until every job is terminal.
    private func waitForCompletion(_ service: ServiceProcess, sweep id: String, timeout: TimeInterval) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let sweep = try service.json("/v1/sweeps/\(id)").object
            if sweep["status"] as? String == "completed" { return sweep }
            Thread.sleep(forTimeInterval: 0.5)
        }
        XCTFail("sweep \(id) did not complete in \(timeout) s; log:\n\(service.logText())")
        return [:]
    }

    private func jobs(_ service: ServiceProcess, sweep id: String) throws -> [[String: Any]] {
        try service.json("/v1/jobs?sweep_id=\(id)&limit=100").object["data"] as? [[String: Any]] ?? []
    }

    func testSweepRunsToSucceededWithResultsCurvesGatesAndCheckpoints() throws {
        let notify = try DatagramSocket(world.root.appendingPathComponent("notify.sock").path)
        let service = try ServiceProcess(world: world, extraEnvironment: ["NOTIFY_SOCKET": notify.name,
                                                                         "WATCHDOG_USEC": "2000000"])
        XCTAssertEqual(notify.receive(timeout: 10)?.hasPrefix("READY=1"), true, "READY=1 once the port listens")
        // With a 2 s watchdog, WATCHDOG=1 comes at under 1 s intervals.
        var pings: [Date] = []
        while pings.count < 3, let message = notify.receive(timeout: 1.5), message == "WATCHDOG=1" { pings.append(Date()) }
        XCTAssertEqual(pings.count, 3, "WATCHDOG=1 pings")
        XCTAssertTrue(zip(pings, pings.dropFirst()).allSatisfy { $1.timeIntervalSince($0) < 1 }, "\(pings)")

        let bad = try service.json("/v1/sweeps", method: "POST",
                                   body: #"{"tasks": ["rte"], "k": [16], "seeds": [1], "methods": ["lora2"]}"#)
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual((bad.object["error"] as? [String: Any])?["param"] as? String, "methods[0]")

        let created = try service.json("/v1/sweeps", method: "POST", body: sweepBody)
        XCTAssertEqual(created.status, 201, "\(created.object)")
        let sweepID = try XCTUnwrap(created.object["id"] as? String)
        let sweep = try waitForCompletion(service, sweep: sweepID, timeout: 300)
        XCTAssertEqual((sweep["counts"] as? [String: Int])?["succeeded"], 4, "\(sweep)\n\(service.logText())")

        // Results: Table 1 layout with both methods over two seeds.
        let results = try service.json("/v1/sweeps/\(sweepID)/results").object
        let rows = try XCTUnwrap(results["data"] as? [[String: Any]], "\(results)")
        XCTAssertEqual(Set(rows.compactMap { $0["method"] as? String }), ["lora", "unipelt-apl"])
        let csv = String(decoding: try service.curl([], path: "/v1/sweeps/\(sweepID)/results?format=csv").body, as: UTF8.self)
        XCTAssertTrue(csv.hasPrefix("k,method"), csv)
        XCTAssertTrue(csv.contains("rte"), csv)

        // Curves and gates of a UniPELT job: 2 steps per epoch × 3 epochs, 3 evaluations.
        let apl = try XCTUnwrap(try jobs(service, sweep: sweepID).first { $0["method"] as? String == "unipelt-apl" })
        let jobID = try XCTUnwrap(apl["id"] as? String)
        let losses = try service.json("/v1/jobs/\(jobID)/metrics?keys=train_loss&limit=100").object["data"] as? [[String: Any]] ?? []
        XCTAssertEqual(losses.compactMap { $0["step"] as? Int }, [1, 2, 3, 4, 5, 6], "\(losses)")
        let gates = try service.json("/v1/jobs/\(jobID)/gates?limit=100").object["data"] as? [[String: Any]] ?? []
        XCTAssertEqual(gates.compactMap { $0["step"] as? Int }, [2, 4, 6], "one gate row per evaluation: \(gates)")
        let values = gates.flatMap { $0["values"] as? [[String: Any]] ?? [] }
        XCTAssertEqual(values.count, 3 * 2 * 4, "3 evaluations × 2 layers × A, P, Lq, Lv")
        XCTAssertEqual(Set(values.compactMap { $0["module"] as? String }), ["A", "P", "Lq", "Lv"])
        XCTAssertTrue(values.allSatisfy { (($0["value"] as? Double) ?? -1) > 0 && (($0["value"] as? Double) ?? 2) < 1 },
                      "sigmoid gates lie in (0, 1)")

        // Checkpoints: the best one downloads with a matching SHA-256.
        let checkpoints = try service.json("/v1/jobs/\(jobID)/checkpoints").object["data"] as? [[String: Any]] ?? []
        // A succeeded job keeps only its best checkpoint (keep_last_checkpoint = false), row and files.
        XCTAssertEqual(checkpoints.compactMap { $0["name"] as? String }, ["best"], "\(checkpoints)")
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(world.dataDirectory)/checkpoints/\(jobID)")
        XCTAssertFalse(files.contains { $0.hasPrefix("last") }, "\(files)")
        XCTAssertTrue(files.contains("best.safetensors"), "\(files)")
        let best = try XCTUnwrap(checkpoints.first { $0["name"] as? String == "best" })
        let bestID = try XCTUnwrap(best["id"] as? String)
        let download = try service.curl([], path: "/v1/jobs/\(jobID)/checkpoints/\(bestID)/content")
        XCTAssertEqual(download.status, 200)
        XCTAssertEqual(download.body.count, best["bytes"] as? Int)
        XCTAssertTrue(download.headers.lowercased().contains("x-checksum-sha256: \(SHA256.hex(download.body))"), download.headers)
        try assertCheckpointReproducesBestDevMetric(download.body, job: apl)
        let traversal = try service.curl([], path: "/v1/jobs/\(jobID)/checkpoints/..%2f..%2funipelt.sqlite3/content")
        XCTAssertTrue([400, 404].contains(traversal.status), "\(traversal.status)")

        // SIGTERM: STOPPING=1, then a clean exit. (Pings queued during the sweep are read first.)
        while notify.receive(timeout: 0) != nil {}
        service.signal(SIGTERM)
        XCTAssertEqual(service.waitForExit(timeout: 60), 0, service.logText())
        var messages: [String] = []
        while let message = notify.receive(timeout: 1) { messages.append(message) }
        XCTAssertTrue(messages.contains("STOPPING=1"), "\(messages)")
        XCTAssertTrue(messages.contains { $0.hasPrefix("EXTEND_TIMEOUT_USEC=") }, "\(messages)")
    }

    /// Research reports on a real sweep with a swept learning rate: Table 1 with the dev-selected variant,
    /// Table 2, a comparison and the gate summary, from what the workers stored.
    func testReportsOfASweepWithTwoLearningRates() throws {
        let service = try ServiceProcess(world: world)
        let body = #"{"name": "reports", "tasks": ["rte"], "k": [16], "seeds": [1], "methods": ["adapter", "prefix", "unipelt-ap"], "hyperparameters": {"epochs": 1, "batch_size": 8, "max_seq_length": 32, "learning_rate": [0.001, 0.01]}}"#
        let created = try service.json("/v1/sweeps", method: "POST", body: body)
        XCTAssertEqual(created.status, 201, "\(created.object)")
        let sweepID = try XCTUnwrap(created.object["id"] as? String)
        let sweep = try waitForCompletion(service, sweep: sweepID, timeout: 300)
        XCTAssertEqual((sweep["counts"] as? [String: Int])?["succeeded"], 6, "\(sweep)\n\(service.logText())")
        let jobs = try jobs(service, sweep: sweepID)

        // Table 1: per method the variant with the better dev metric, whatever its test metric.
        let table1 = try XCTUnwrap(try service.json("/v1/sweeps/\(sweepID)/results").object["data"] as? [[String: Any]])
        XCTAssertEqual(table1.count, 3)
        for row in table1 {
            let method = try XCTUnwrap(row["method"] as? String)
            let rte = try XCTUnwrap((row["tasks"] as? [String: Any])?["rte"] as? [String: Any])
            // The key is `task/K=…/seed=…/method` followed by the variant.
            let devByVariant = Dictionary(grouping: jobs.filter { $0["method"] as? String == method }) {
                ($0["key"] as? String ?? "").split(separator: "/").dropFirst(4).joined(separator: "/")
            }
                .mapValues { runs in runs.compactMap { ($0["result"] as? [String: Any])?["best_dev_metric"] as? Double }.reduce(0, +) }
            XCTAssertEqual(devByVariant.count, 2, "\(devByVariant)")
            let best = devByVariant.max { ($0.value, $1.key) < ($1.value, $0.key) }!
            XCTAssertEqual(rte["variant"] as? String, best.key, "\(method): \(devByVariant)")
            XCTAssertEqual(rte["variant_count"] as? Int, 2)
            XCTAssertEqual(rte["n"] as? Int, 1)
        }
        let all = try XCTUnwrap(try service.json("/v1/sweeps/\(sweepID)/results?variants=all").object["data"] as? [[String: Any]])
        XCTAssertEqual(all.count, 6)

        // Table 2: UniPELT (AP) against adapter and prefix; the upper bound is the better of their rte means.
        let table2 = try XCTUnwrap(try service.json("/v1/sweeps/\(sweepID)/results?table=2").object["data"] as? [[String: Any]])
        XCTAssertEqual(table2.compactMap { $0["method"] as? String }, ["unipelt-ap"], "no LoRA runs, no APL row")
        let entry = try XCTUnwrap((table2[0]["tasks"] as? [String: Any])?["rte"] as? [String: Any])
        let means = Dictionary(uniqueKeysWithValues: table1.compactMap { row -> (String, Double)? in
            guard let method = row["method"] as? String, let rte = (row["tasks"] as? [String: Any])?["rte"] as? [String: Any],
                  let mean = rte["mean"] as? Double else { return nil }
            return (method, mean)
        })
        XCTAssertEqual(entry["upper_bound"] as? Double ?? -1, ["adapter", "prefix"].map { means[$0]! }.max()!, accuracy: 1e-9)
        XCTAssertEqual(entry["margin"] as? Double ?? -1, means["unipelt-ap"]! - (entry["upper_bound"] as? Double ?? 0), accuracy: 1e-9)
        XCTAssertEqual(((entry["paired"] as? [String: Any])?["seeds"] as? [Any])?.count, 1)

        // A comparison against the best single method, and the gates of UniPELT at the best checkpoint.
        let comparison = try service.json("/v1/sweeps/\(sweepID)/compare?a=unipelt-ap&b=best-single").object
        let cell = try XCTUnwrap(((comparison["data"] as? [[String: Any]])?.first?["tasks"] as? [String: Any])?["rte"] as? [String: Any])
        XCTAssertEqual(cell["b_method"] as? String, entry["upper_bound_method"] as? String)
        XCTAssertEqual((cell["wins"] as? Int ?? 0) + (cell["ties"] as? Int ?? 0) + (cell["losses"] as? Int ?? 0), 1)
        let gates = try XCTUnwrap(try service.json("/v1/sweeps/\(sweepID)/gates").object["data"] as? [[String: Any]])
        XCTAssertEqual(gates.compactMap { $0["method"] as? String }, ["unipelt-ap"])
        XCTAssertEqual((gates[0]["gates"] as? [Any])?.count, 2 * 2, "2 layers × A, P")
        let csv = String(decoding: try service.curl([], path: "/v1/sweeps/\(sweepID)/gates?format=csv").body, as: UTF8.self)
        XCTAssertEqual(csv.split(separator: "\n").count, 1 + 4, csv)

        // The sweep saved for Tests/Results: `unipelt train --summarize` over the saved job list and gate files
        // gives the service's own reports, variants included.
        let saved = world.root.appendingPathComponent("saved").path
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Scripts/save_sweep_record.sh").standardized.path
        func saveRecord(_ sweep: String) throws -> (status: Int32, output: String, errors: String) {
            try runProgram("/usr/bin/env", ["UNIPELT_BIN=\(ServiceProcess.binary.path)", "bash", script,
                                            "http://127.0.0.1:\(service.port)", saved, sweep])
        }
        let save = try saveRecord(sweepID)
        XCTAssertEqual(save.status, 0, save.errors)
        XCTAssertTrue(save.errors.contains("6 cells, 6 succeeded"), save.errors)
        func served(_ query: String) throws -> Data { try service.curl([], path: "/v1/sweeps/\(sweepID)/\(query)").body }
        func written(_ file: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: "\(saved)/\(file)")) }
        for (file, query) in [("table1.csv", "results?format=csv"), ("table1-all.csv", "results?variants=all&format=csv"),
                              ("table2.csv", "results?table=2&format=csv"), ("gates.csv", "gates?format=csv")] {
            XCTAssertEqual(String(decoding: try written(file), as: UTF8.self), String(decoding: try served(query), as: UTF8.self), file)
        }
        for (file, query) in [("table2.json", "results?table=2"),
                              ("compare-unipelt-ap-vs-best-single.json", "compare?a=unipelt-ap&b=best-single&bootstrap_seed=1")] {
            // The saved file may span sweeps, so it names none.
            var fromService = try XCTUnwrap(try JSONSerialization.jsonObject(with: try served(query)) as? [String: Any])
            var fromFile = try XCTUnwrap(try JSONSerialization.jsonObject(with: try written(file)) as? [String: Any])
            XCTAssertTrue(fromFile.removeValue(forKey: "sweep_id") is NSNull, file)
            fromService["sweep_id"] = nil
            XCTAssertEqual(NSDictionary(dictionary: fromFile), NSDictionary(dictionary: fromService), file)
        }

        // A second sweep saved into the same folder: its new cells join; a cell the first already has a succeeded
        // job of keeps that job, and the save says which it left out.
        let more = #"{"name": "more", "tasks": ["rte"], "k": [16], "seeds": [1, 2], "methods": ["adapter"], "hyperparameters": {"epochs": 1, "batch_size": 8, "max_seq_length": 32, "learning_rate": [0.001, 0.01]}}"#
        let second = try XCTUnwrap(try service.json("/v1/sweeps", method: "POST", body: more).object["id"] as? String)
        _ = try waitForCompletion(service, sweep: second, timeout: 300)
        let merge = try saveRecord(second)
        XCTAssertEqual(merge.status, 0, merge.errors)
        XCTAssertTrue(merge.errors.contains("8 cells, 8 succeeded"), merge.errors)
        XCTAssertEqual(merge.errors.components(separatedBy: "(also succeeded)").count - 1, 2, merge.errors)
        let savedJobs = try XCTUnwrap(try JSONSerialization.jsonObject(with: try written("jobs.json")) as? [[String: Any]])
        XCTAssertEqual(Set(savedJobs.filter { $0["seed"] as? Int == 1 }.compactMap { $0["sweep_id"] as? String }), [sweepID])
        XCTAssertEqual(Set(savedJobs.filter { $0["seed"] as? Int == 2 }.compactMap { $0["sweep_id"] as? String }), [second])
        let sweeps = try XCTUnwrap(try JSONSerialization.jsonObject(with: try written("sweeps.json")) as? [[String: Any]])
        XCTAssertEqual(sweeps.compactMap { $0["id"] as? String }, [sweepID, second])
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(saved)/jobs/rte-k16-s2-adapter-learning_rate=0.01/gates.csv"))
        let merged = String(decoding: try written("table1-all.csv"), as: UTF8.self)
        XCTAssertEqual(merged.split(separator: "\n").filter { $0.contains(",adapter,") }.count, 2, merged)
        let table = try XCTUnwrap(try JSONSerialization.jsonObject(with: try written("table1.json")) as? [String: Any])
        let adapter = try XCTUnwrap((table["data"] as? [[String: Any]])?.first { $0["method"] as? String == "adapter" })
        XCTAssertEqual(((adapter["tasks"] as? [String: Any])?["rte"] as? [String: Any])?["n"] as? Int, 2, "\(adapter)")

        // A sweep whose cells have the same keys but other fixed settings is not the same cells: refused, and the
        // folder is left as it was.
        let other = more.replacingOccurrences(of: #""batch_size": 8"#, with: #""batch_size": 4"#)
        let third = try XCTUnwrap(try service.json("/v1/sweeps", method: "POST", body: other).object["id"] as? String)
        _ = try waitForCompletion(service, sweep: third, timeout: 300)
        let before = try written("jobs.json")
        let refused = try saveRecord(third)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.errors.contains("differ in model or hyperparameters"), refused.errors)
        XCTAssertEqual(try written("jobs.json"), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: saved + "/jobs").count, 8)
        XCTAssertFalse(FileManager.default.fileExists(atPath: saved + "/.saving"), "the staging folder is removed")
    }

    /// `kill -9` mid-sweep, then a restart: every job ends succeeded, each curve has one row per step.
    func testKillNineMidSweepThenRestartLosesNothing() throws {
        var service = try ServiceProcess(world: world)
        let created = try service.json("/v1/sweeps", method: "POST", body: sweepBody)
        let sweepID = try XCTUnwrap(created.object["id"] as? String, "\(created.object)")
        let deadline = Date().addingTimeInterval(120)
        var killedMidRun = false
        while Date() < deadline && !killedMidRun {
            let statuses = try jobs(service, sweep: sweepID).compactMap { $0["status"] as? String }
            if statuses.contains("running") {
                service.signal(SIGKILL)
                killedMidRun = true
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTAssertTrue(killedMidRun, "the kill must land while a job runs")
        _ = service.waitForExit(timeout: 10)

        service = try ServiceProcess(world: world)
        let sweep = try waitForCompletion(service, sweep: sweepID, timeout: 300)
        XCTAssertEqual((sweep["counts"] as? [String: Int])?["succeeded"], 4, "\(sweep)\n\(service.logText())")
        for job in try jobs(service, sweep: sweepID) {
            let id = job["id"] as! String
            let steps = (try service.json("/v1/jobs/\(id)/metrics?keys=train_loss&limit=100").object["data"] as? [[String: Any]] ?? [])
                .compactMap { $0["step"] as? Int }
            XCTAssertEqual(steps, [1, 2, 3, 4, 5, 6], "job \(id)")
        }
        service.signal(SIGTERM)
        XCTAssertEqual(service.waitForExit(timeout: 60), 0, service.logText())
    }
}

extension EndToEndTests {
    /// SIGTERM mid-job: the job writes its checkpoint, goes back to the queue, the process exits 0; a
    /// restart resumes it from that checkpoint, and the result equals an uninterrupted run's.
    func testSIGTERMRequeuesAndTheResumedJobMatchesAnUninterruptedRun() throws {
        // 80 steps: the tiny model takes about as many tens of milliseconds, so SIGTERM lands well before the end.
        let job = #"{"task": "rte", "k": 16, "seed": 7, "method": "unipelt-apl", "hyperparameters": {"epochs": 40, "batch_size": 8, "max_seq_length": 32, "early_stopping_patience": 0}}"#
        var service = try ServiceProcess(world: world)
        let interruptedID = try XCTUnwrap(try service.json("/v1/jobs", method: "POST", body: job).object["id"] as? String)
        // The per-step loss rows are written as each step ends; the job's `progress` only moves on heartbeats,
        // which on a fast machine come too late to catch this job mid-run.
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, try losses(service, interruptedID).count < 4 {
            Thread.sleep(forTimeInterval: 0.01)
        }
        service.signal(SIGTERM)
        XCTAssertEqual(service.waitForExit(timeout: 60), 0, service.logText())

        service = try ServiceProcess(world: world)
        let interrupted = try service.waitForJob(interruptedID)
        let events = (try service.json("/v1/jobs/\(interruptedID)/events?limit=100").object["data"] as? [[String: Any]] ?? [])
            .compactMap { $0["message"] as? String }
        XCTAssertTrue(events.contains { $0.contains("resumes from its last checkpoint") }, "\(events)")
        XCTAssertTrue(events.contains { $0.contains("handed back") }, "\(events)")

        let freshID = try XCTUnwrap(try service.json("/v1/jobs", method: "POST", body: job).object["id"] as? String)
        let fresh = try service.waitForJob(freshID)
        XCTAssertEqual(interrupted["status"] as? String, "succeeded", "\(interrupted)")
        XCTAssertEqual(fresh["status"] as? String, "succeeded", "\(fresh)")
        let interruptedResult = interrupted["result"] as? [String: Any]
        XCTAssertEqual(interruptedResult?["test_metric"] as? Double, (fresh["result"] as? [String: Any])?["test_metric"] as? Double)
        XCTAssertEqual(try losses(service, interruptedID), try losses(service, freshID), "the same curve, step for step")
        service.signal(SIGTERM)
        XCTAssertEqual(service.waitForExit(timeout: 60), 0)
    }

    /// The downloaded checkpoint, loaded into a fresh model of the job's spec, scores the job's best dev metric.
    func assertCheckpointReproducesBestDevMetric(_ checkpoint: Data, job: [String: Any],
                                                 file: StaticString = #filePath, line: UInt = #line) throws {
        let path = world.root.appendingPathComponent("downloaded.safetensors").path
        try checkpoint.write(to: URL(fileURLWithPath: path))
        let seed = try XCTUnwrap(job["seed"] as? Int)
        // The sweep named no model: its jobs record the service's default model, the tiny world's.
        XCTAssertEqual(job["model"] as? String, "tiny", file: file, line: line)
        let spec = try JobSpecCoding.trainingSpec(fromStored: #"{"task": "rte", "k": 16, "seed": \#(seed), "method": "unipelt-apl", "model": "tiny", "hyperparameters": {"epochs": 3, "batch_size": 8, "max_seq_length": 32}}"#)
        let modelFolder = world.modelDirectory + "/tiny"
        let tokenizer = try BertTokenizer(vocabularyURL: URL(fileURLWithPath: modelFolder + "/vocab.txt"))
        let trainer = try Trainer(spec: spec, backbone: try Backbone.load(directory: modelFolder), tokenizer: tokenizer,
                                  glueDirectory: world.glueDirectory)
        let scores = try trainer.evaluateCheckpoint(at: path)
        let finished = try XCTUnwrap(job["result"] as? [String: Any], "\(job)")
        XCTAssertEqual(scores.dev, try XCTUnwrap(finished["best_dev_metric"] as? Double), file: file, line: line)
        XCTAssertEqual(scores.test, try XCTUnwrap(finished["test_metric"] as? Double), file: file, line: line)
        // The job object names the split and the train-file rows the trainer drew.
        XCTAssertEqual(finished["split"] as? String, "official", file: file, line: line)
        XCTAssertEqual(finished["train_rows"] as? [Int], trainer.data.trainRows, file: file, line: line)
        XCTAssertEqual(finished["dev_rows"] as? [Int], trainer.data.devRows, file: file, line: line)
    }

    func losses(_ service: ServiceProcess, _ id: String) throws -> [Double] {
        (try service.json("/v1/jobs/\(id)/metrics?keys=train_loss&limit=1000").object["data"] as? [[String: Any]] ?? [])
            .compactMap { $0["train_loss"] as? Double }
    }
}

extension EndToEndTests {
    /// Pause, cancel (job and sweep), resume and retry against the real binary.
    func testControlsThroughTheBinary() throws {
        let service = try ServiceProcess(world: world)
        let body = #"{"tasks": ["rte"], "k": [16], "seeds": [1, 2, 3], "methods": ["lora"], "max_concurrency": 1, "hyperparameters": {"epochs": 40, "batch_size": 8, "max_seq_length": 32, "early_stopping_patience": 0}}"#
        let sweepID = try XCTUnwrap(try service.json("/v1/sweeps", method: "POST", body: body).object["id"] as? String)
        func statuses() throws -> [String: String] {
            Dictionary(uniqueKeysWithValues: try jobs(service, sweep: sweepID).map { ($0["id"] as! String, $0["status"] as! String) })
        }
        func waitUntil(_ what: String, _ condition: () throws -> Bool) throws {
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline { if try condition() { return }; Thread.sleep(forTimeInterval: 0.05) }
            XCTFail("timed out waiting for \(what): \(try statuses())\n\(service.logText())")
        }
        try waitUntil("a running job") { try statuses().values.contains("running") }
        let running = try XCTUnwrap(try statuses().first { $0.value == "running" }?.key)

        // Pause: the running job goes on, nothing new starts; cancelling it frees the slot, still nothing starts.
        XCTAssertEqual(try service.json("/v1/sweeps/\(sweepID)/pause", method: "POST").object["status"] as? String, "paused")
        XCTAssertEqual(try service.json("/v1/jobs/\(running)/cancel", method: "POST").status, 200)
        try waitUntil("the cancel") { try statuses()[running] == "cancelled" }
        Thread.sleep(forTimeInterval: 2)
        XCTAssertEqual(try statuses().values.filter { $0 == "queued" }.count, 2, "paused: no new start")
        XCTAssertEqual(try service.json("/v1/jobs/\(running)/cancel", method: "POST").status, 409, "a cancelled job cannot be cancelled")

        // Resume: the next job starts. Cancel the sweep: everything ends cancelled.
        XCTAssertEqual(try service.json("/v1/sweeps/\(sweepID)/resume", method: "POST").status, 200)
        try waitUntil("a job after resume") { try statuses().values.contains("running") }
        XCTAssertEqual(try service.json("/v1/sweeps/\(sweepID)/cancel", method: "POST").status, 200)
        try waitUntil("the sweep cancel") { try statuses().values.allSatisfy { $0 == "cancelled" } }

        // Retry from scratch: the cancelled cells run again from step 1, to the end.
        XCTAssertEqual(try service.json("/v1/sweeps/\(sweepID)/retry", method: "POST", body: #"{"resume": "scratch"}"#).status, 200)
        let sweep = try waitForCompletion(service, sweep: sweepID, timeout: 300)
        XCTAssertEqual((sweep["counts"] as? [String: Int])?["succeeded"], 3, "\(sweep)")
        let events = (try service.json("/v1/jobs/\(running)/events?limit=100").object["data"] as? [[String: Any]] ?? [])
            .compactMap { $0["message"] as? String }
        XCTAssertTrue(events.contains { $0.contains("from scratch") }, "\(events)")
        XCTAssertEqual(events.last { $0.hasPrefix("attempt") && $0.contains("start") }.map { $0.hasSuffix("starts") }, true,
                       "the last attempt starts over instead of resuming: \(events)")
        XCTAssertEqual(try losses(service, running).count, 80, "40 epochs × 2 steps, nothing left from the cancelled run")
        service.signal(SIGTERM)
        XCTAssertEqual(service.waitForExit(timeout: 60), 0)
    }

    /// With a token configured, /v1 needs it and /healthz does not; off loopback, no token means no start.
    func testTokenThroughTheBinary() throws {
        let service = try ServiceProcess(world: world, extraEnvironment: ["UNIPELT_API_TOKEN": "s3cret-token"])
        let refused = try service.json("/v1/sweeps")
        XCTAssertEqual(refused.status, 401)
        XCTAssertEqual((refused.object["error"] as? [String: Any])?["code"] as? String, "invalid_api_key")
        XCTAssertEqual(try service.json("/v1/sweeps", headers: ["Authorization: Bearer wrong"]).status, 401)
        XCTAssertEqual(try service.json("/v1/sweeps", headers: ["Authorization: Bearer s3cret-token"]).status, 200)
        XCTAssertEqual(try service.json("/healthz").status, 200)
        service.signal(SIGTERM)
        XCTAssertEqual(service.waitForExit(timeout: 60), 0)
        XCTAssertFalse(service.logText().contains("s3cret-token"), "the token is never logged")

        XCTAssertThrowsError(try ServiceProcess(world: world, extraEnvironment: ["UNIPELT_LISTEN_ADDRESS": "0.0.0.0"])) { error in
            XCTAssertTrue("\(error)".contains("api_token"), "\(error)")
        }
    }

    /// A second service on the same data directory stops before it touches anything: it would rescue the
    /// first one's running jobs. The first keeps its job. (And a start clears exports a crash left behind.)
    func testASecondServiceOnTheSameDataDirectoryRefusesToStart() throws {
        let leftover = world.dataDirectory + "/exports/job_000000000000000000000000-peft-1"
        try FileManager.default.createDirectory(atPath: leftover, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: leftover + "/adapter_model.safetensors", contents: Data([1])))
        let first = try ServiceProcess(world: world)
        XCTAssertFalse(FileManager.default.fileExists(atPath: leftover), "an export cut off by a crash is removed at start")
        // The tiny RTE train file has 1,100 rows: K may be at most 100, the rest is the dev set. A larger K is refused
        // before anything is stored (checked against the installed file, as every sweep is).
        for (path, body, param) in [("/v1/sweeps", #"{"tasks": ["rte"], "k": [16, 101], "seeds": [1], "methods": ["lora"]}"#, "k[1]"),
                                    ("/v1/jobs", #"{"task": "rte", "k": 101, "seed": 1, "method": "lora"}"#, "k")] {
            let refused = try first.json(path, method: "POST", body: body)
            XCTAssertEqual(refused.status, 400, "\(refused.object)")
            let error = refused.object["error"] as? [String: Any]
            XCTAssertEqual(error?["param"] as? String, param)
            XCTAssertTrue((error?["message"] as? String ?? "").contains("at most 100"), "\(refused.object)")
        }
        XCTAssertEqual((try first.json("/v1/jobs?limit=10").object["data"] as? [Any])?.count, 0, "nothing stored")
        let long = #"{"task": "rte", "k": 16, "seed": 7, "method": "lora", "hyperparameters": {"epochs": 200, "batch_size": 8, "max_seq_length": 32, "early_stopping_patience": 0, "eval_every_steps": 1000000}}"#
        let id = try XCTUnwrap(try first.json("/v1/jobs", method: "POST", body: long).object["id"] as? String)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try first.json("/v1/jobs/\(id)").object["status"] as? String != "running" {
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertThrowsError(try ServiceProcess(world: world)) { error in
            XCTAssertTrue("\(error)".contains("another unipelt service (pid \(first.process.processIdentifier)) is using the data directory"),
                          "\(error)")
        }
        let job = try first.json("/v1/jobs/\(id)").object
        XCTAssertEqual(job["status"] as? String, "running")
        XCTAssertEqual(job["attempt"] as? Int, 1)
        XCTAssertFalse(try first.events(ofJob: id).contains { $0["type"] as? String == "rescued" })
        first.signal(SIGTERM)
        XCTAssertEqual(first.waitForExit(timeout: 60), 0, first.logText())
    }
}
