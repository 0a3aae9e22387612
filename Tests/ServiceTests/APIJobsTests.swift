import Foundation
import XCTest
import JobStore
@testable import Service

final class APIJobsTests: APITestCase {
    func testCreateOneJobStoresItsSpecAndMetadata() throws {
        let response = try post("/v1/jobs", #"{"task":"rte","k":"all","seed":7,"method":"unipelt-apl","model":"minilm-l6","hyperparameters":{"learning_rate":0.0005,"padding":"max_length"},"max_attempts":5,"metadata":{"note":"probe"}}"#)
        XCTAssertEqual(response.status, 201, response.text)
        let job = response.json()
        let id = try XCTUnwrap(job["id"] as? String)
        XCTAssertTrue(id.hasPrefix("job_"))
        XCTAssertEqual(job["object"] as? String, "job")
        XCTAssertTrue(job["sweep_id"] is NSNull)
        XCTAssertEqual(job["key"] as? String, "rte/K=all/seed=7/unipelt-apl")
        XCTAssertEqual(job["status"] as? String, "queued")
        XCTAssertEqual(job["k"] as? String, "all")
        XCTAssertEqual(job["seed"] as? Int, 7)
        XCTAssertEqual(job["model"] as? String, "minilm-l6")
        XCTAssertEqual((job["hyperparameters"] as? [String: Any])?["padding"] as? String, "max_length")
        XCTAssertEqual(job["max_attempts"] as? Int, 5)
        XCTAssertEqual(job["attempt"] as? Int, 0)
        for key in ["started_at", "finished_at", "progress", "error", "best_metric", "result", "best_checkpoint_id"] {
            XCTAssertTrue(job[key] is NSNull, key)
        }
        let spec = try JSONSerialization.jsonObject(with: Data(try self.job(id).spec.utf8)) as? [String: Any]
        XCTAssertEqual(Set(spec?.keys.map { $0 } ?? []), ["task", "k", "seed", "method", "model", "hyperparameters"])
        let created = try get("/v1/jobs/\(id)/events").data.first
        XCTAssertEqual(created?["type"] as? String, "created")
        XCTAssertEqual(((created?["data"] as? [String: Any])?["metadata"] as? [String: String]), ["note": "probe"])
    }

    func testCreateValidatesWithTheSweepRules() throws {
        let cases: [(String, String, String)] = [
            (#"{"k":100,"seed":1,"method":"lora"}"#, "missing_parameter", "task"),
            (#"{"task":"rte","k":100,"seed":1,"method":"lora2"}"#, "invalid_value", "method"),
            (#"{"task":"rte","k":-1,"seed":1,"method":"lora"}"#, "invalid_value", "k"),
            (#"{"task":"rte","k":100,"seed":1.5,"method":"lora"}"#, "invalid_value", "seed"),
            (#"{"task":"rte","k":100,"seed":1,"method":"lora","hyperparameters":{"epochs":[1,2]}}"#, "invalid_value", "hyperparameters.epochs"),
            (#"{"task":"rte","k":100,"seed":1,"method":"lora","hyperparameters":{"lr":1}}"#, "unknown_parameter", "hyperparameters.lr"),
            (#"{"task":"rte","k":100,"seeds":[1],"method":"lora"}"#, "unknown_parameter", "seeds"),
            (#"{"task":"rte","k":100,"seed":1,"method":"lora","max_attempts":1000}"#, "invalid_value", "max_attempts"),
        ]
        for (body, code, param) in cases {
            let response = try post("/v1/jobs", body)
            XCTAssertEqual(response.status, 400, body)
            XCTAssertEqual(response.error["code"] as? String, code, body)
            XCTAssertEqual(response.error["param"] as? String, param, body)
        }
        XCTAssertEqual(try store.read { try $0.jobs(limit: 10) }.items.count, 0)
    }

    func testJobShowsProgressBestMetricAndResult() throws {
        let id = try XCTUnwrap(post("/v1/jobs", #"{"task":"rte","k":100,"seed":1,"method":"lora"}"#).json()["id"] as? String)
        clock.advance(by: 5)
        let claimed = try XCTUnwrap(claim())
        _ = try store.write {
            try $0.heartbeat(claimed.lease, progress: JobProgress(step: 40, totalSteps: 100, epoch: 2, etaSeconds: 30),
                             bestMetric: NamedValue(name: "accuracy", value: 0.625), leaseSeconds: Self.leaseSeconds, now: clock.now)
        }
        let running = try get("/v1/jobs/\(id)").json()
        XCTAssertEqual(running["status"] as? String, "running")
        XCTAssertEqual(running["attempt"] as? Int, 1)
        XCTAssertEqual(running["started_at"] as? Int, clock.now)
        let progress = try XCTUnwrap(running["progress"] as? [String: Any])
        XCTAssertEqual(progress["step"] as? Int, 40)
        XCTAssertEqual(progress["total_steps"] as? Int, 100)
        XCTAssertEqual(progress["epoch"] as? Double, 2)
        XCTAssertEqual(progress["eta_seconds"] as? Int, 30)
        XCTAssertEqual((running["best_metric"] as? [String: Any])?["value"] as? Double, 0.625)
        clock.advance(by: 30)
        _ = try store.write { try $0.finish(claimed.lease, result: #"{"metric":"accuracy","test_metric":0.7}"#, now: clock.now) }
        let done = try get("/v1/jobs/\(id)").json()
        XCTAssertEqual(done["status"] as? String, "succeeded")
        XCTAssertEqual(done["finished_at"] as? Int, clock.now)
        XCTAssertEqual((done["result"] as? [String: Any])?["test_metric"] as? Double, 0.7)
        XCTAssertEqual(try post("/v1/jobs/\(id)/cancel").error["code"] as? String, "job_not_cancellable")
    }

    /// A job keeps naming the Slurm jobs it ran in after it finished, in the job object and in lists.
    func testFinishedJobNamesTheSlurmJobsItRanIn() throws {
        let id = try XCTUnwrap(post("/v1/jobs", #"{"task":"rte","k":100,"seed":1,"method":"lora"}"#).json()["id"] as? String)
        let other = try XCTUnwrap(post("/v1/jobs", #"{"task":"rte","k":100,"seed":2,"method":"lora"}"#).json()["id"] as? String)
        let claimed = try XCTUnwrap(claim())
        XCTAssertEqual(claimed.job.id, id)
        _ = try store.write {
            try $0.appendEvent(try SlurmEvents.claimed(SlurmEvents.Task(jobID: id, attempt: 1, slurmJob: "7_1")), now: clock.now)
            try $0.finish(claimed.lease, result: #"{"metric":"accuracy","test_metric":0.7}"#, now: clock.now)
        }
        XCTAssertEqual(try get("/v1/jobs/\(id)").json()["slurm_jobs"] as? [String], ["7_1"])
        XCTAssertEqual(try get("/v1/jobs/\(other)").json()["slurm_jobs"] as? [String], [])
        let listed = try XCTUnwrap(get("/v1/jobs").json()["data"] as? [[String: Any]])
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: listed.map { ($0["id"] as! String, $0["slurm_jobs"] as! [String]) }),
                       [id: ["7_1"], other: []])
    }

    func testListFiltersAndPages() throws {
        let sweepID = try XCTUnwrap(createSweep(tasks: ["rte", "sst2"], seeds: [1, 2], methods: ["lora", "adapter"])["id"] as? String)
        clock.advance(by: 10)
        let single = try XCTUnwrap(post("/v1/jobs", #"{"task":"mrpc","k":16,"seed":1,"method":"bitfit"}"#).json()["id"] as? String)
        let running = try XCTUnwrap(claim())

        func ids(_ query: String) throws -> [String] {
            let response = try get("/v1/jobs?\(query)")
            XCTAssertEqual(response.status, 200, response.text)
            return response.data.compactMap { $0["id"] as? String }
        }
        XCTAssertEqual(try ids("limit=100").count, 9)
        XCTAssertEqual(try ids("limit=100").first, single, "newest first")
        XCTAssertEqual(try ids("sweep_id=\(sweepID)&limit=100").count, 8)
        XCTAssertEqual(try ids("status=running"), [running.job.id])
        XCTAssertEqual(try ids("task=sst2&method=adapter").count, 2)
        XCTAssertEqual(try ids("created_after=\(clock.now - 1)"), [single], "strictly after")
        let firstPage = try ids("limit=5")
        let secondPage = try ids("limit=5&after=\(firstPage.last!)")
        XCTAssertEqual(Set(firstPage + secondPage).count, 9)
        for bad in ["status=done", "limit=-1", "created_after=yesterday", "after=swp_000000000000000000000000"] {
            XCTAssertEqual(try get("/v1/jobs?\(bad)").error["param"] as? String, String(bad.prefix { $0 != "=" }), bad)
        }
        XCTAssertEqual(try get("/v1/jobs/job_000000000000000000000000").error["code"] as? String, "job_not_found")
        XCTAssertEqual(try get("/v1/jobs/job_000000000000000000000000").status, 404)
    }
}
