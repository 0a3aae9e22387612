import Foundation
import XCTest
import JobStore
@testable import Service

final class APIOpsTests: APITestCase {
    func testHealthReadinessAndPrometheusText() throws {
        let health = try get("/healthz")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.json()["status"] as? String, "ok")
        let ready = try get("/readyz")
        XCTAssertEqual(ready.status, 200)
        XCTAssertEqual(ready.json()["checks"] as? [String: Bool], ["database": true, "workers": true])
        XCTAssertEqual(ready.json()["version"] as? String, "test-1")

        try createSweep(seeds: [1, 2, 3])
        XCTAssertEqual(try post("/v1/jobs", #"{"task":"rte","k":16,"seed":1,"method":"lora"}"#).status, 201)
        _ = try XCTUnwrap(claim())
        XCTAssertEqual(try get("/v1/sweeps/swp_000000000000000000000000").status, 404)
        let metrics = try get("/metrics")
        XCTAssertEqual(metrics.status, 200)
        XCTAssertEqual(metrics.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        let text = metrics.text
        for line in ["# TYPE unipelt_http_requests_total counter",
                     #"unipelt_http_requests_total{code="201",method="POST"} 2"#,
                     #"unipelt_http_requests_total{code="404",method="GET"} 1"#,
                     "# TYPE unipelt_http_request_duration_seconds histogram",
                     "# TYPE unipelt_jobs gauge",
                     #"unipelt_jobs{status="queued"} 3"#,
                     #"unipelt_jobs{status="running"} 1"#,
                     "# TYPE unipelt_queue_depth gauge",
                     "unipelt_queue_depth 3"] {
            XCTAssertTrue(text.contains(line + "\n"), "missing \(line) in\n\(text)")
        }
    }

    func testResultsTableAsJSONAndCSV() throws {
        let sweepID = try XCTUnwrap(createSweep(tasks: ["rte"], seeds: [1, 2], methods: ["lora"])["id"] as? String)
        for value in [0.6, 0.7] {
            let claimed = try XCTUnwrap(claim())
            _ = try store.write { try $0.finish(claimed.lease, result: #"{"metric":"accuracy","test_metric":\#(value)}"#, now: clock.now) }
        }
        let json = try get("/v1/sweeps/\(sweepID)/results")
        XCTAssertEqual(json.json()["object"] as? String, "sweep.results")
        let row = try XCTUnwrap(json.data.first)
        XCTAssertEqual(row["k"] as? String, "100")
        XCTAssertEqual(row["method"] as? String, "lora")
        let rte = try XCTUnwrap((row["tasks"] as? [String: Any])?["rte"] as? [String: Any])
        XCTAssertEqual(rte["mean"] as? Double ?? 0, 65, accuracy: 1e-9)
        XCTAssertEqual(rte["std"] as? Double ?? 0, 7.0710678, accuracy: 1e-6)
        XCTAssertEqual(rte["seeds"] as? [Int], [1, 2])
        let csv = try get("/v1/sweeps/\(sweepID)/results?format=csv")
        XCTAssertEqual(csv.headers["content-type"], "text/csv; charset=utf-8")
        XCTAssertEqual(csv.text, "k,method,variant,rte,avg\n100,lora,,65.00 ± 7.07,65.00\n")
        XCTAssertEqual(try get("/v1/sweeps/\(sweepID)/results?format=xlsx").error["param"] as? String, "format")
    }

    /// The JSON names the table's columns: every task with a job, in the paper's order, so a client shows a task
    /// without values yet as an empty column (and knows why the average is empty).
    func testResultsNameEveryTaskWithAJobInThePapersOrder() throws {
        let sweepID = try XCTUnwrap(createSweep(tasks: ["rte", "sst2"], seeds: [1], methods: ["lora"])["id"] as? String)
        while let claimed = try claim() {
            guard claimed.job.task == "rte" else { continue }
            _ = try store.write { try $0.finish(claimed.lease, result: #"{"metric":"accuracy","test_metric":0.6}"#, now: clock.now) }
        }
        let json = try get("/v1/sweeps/\(sweepID)/results")
        XCTAssertEqual(json.json()["tasks"] as? [String], ["sst2", "rte"])
        XCTAssertEqual((json.data.first?["tasks"] as? [String: Any]).map { Array($0.keys) }, ["rte"])
        XCTAssertEqual(json.data.first?["average"] is NSNull, true)
    }

    func testComparisonTable2AndGatesRoutes() throws {
        let sweepID = try XCTUnwrap(createSweep(tasks: ["rte"], seeds: [1, 2], methods: ["lora", "unipelt-apl"])["id"] as? String)
        while let claimed = try claim() {
            let value = (claimed.job.method == "lora" ? 0.5 : 0.6) + Double(claimed.job.seed) / 100
            _ = try store.write { try $0.finish(claimed.lease, result: #"{"metric":"accuracy","test_metric":\#(value)}"#, now: clock.now) }
        }
        let comparison = try get("/v1/sweeps/\(sweepID)/compare?a=unipelt-apl&b=lora").json()
        XCTAssertEqual(comparison["object"] as? String, "sweep.comparison")
        let row = try XCTUnwrap((comparison["data"] as? [[String: Any]])?.first)
        let rte = try XCTUnwrap((row["tasks"] as? [String: Any])?["rte"] as? [String: Any])
        XCTAssertEqual(rte["mean_difference"] as? Double ?? 0, 10, accuracy: 1e-9)
        XCTAssertEqual(rte["wins"] as? Int, 2)
        XCTAssertEqual((rte["ci95"] as? [String: Double])?["low"] ?? 0, 10, accuracy: 1e-9)
        XCTAssertNotNil(row["average"] as? [String: Any], "one task: the average is that task")
        let csv = try get("/v1/sweeps/\(sweepID)/compare?a=unipelt-apl&b=lora&format=csv").text
        XCTAssertEqual((rte["t_ci95"] as? [String: Double])?["high"] ?? 0, 10, accuracy: 1e-9, "equal differences: no spread")
        XCTAssertEqual(comparison["b_selection"] as? String, "the variant with the best mean dev metric")
        XCTAssertTrue(csv.hasPrefix("k,task,a,b,n,a_n,b_n,mean_difference,ci95_low,ci95_high,t_ci95_low,t_ci95_high,wins,ties,losses\n"
                                    + "100,rte,unipelt-apl,lora,2,2,2,+10.00"), csv)
        let table2 = try get("/v1/sweeps/\(sweepID)/results?table=2").json()
        XCTAssertEqual(table2["table"] as? Int, 2)
        XCTAssertEqual((table2["data"] as? [Any])?.count, 0, "no adapter or prefix runs, no upper bound")
        XCTAssertEqual(try get("/v1/sweeps/\(sweepID)/gates").json()["object"] as? String, "sweep.gates")
        // Bad parameters name themselves.
        for (target, param) in [("compare?b=lora", "a"), ("compare?a=unipelt-apl", "b"), ("compare?a=lora2&b=lora", "a"),
                                ("compare?a=unipelt-apl&b=nope", "b"), ("compare?a=lora&b=best-single", "b"),
                                ("compare?a=lora&b=lora&resamples=5", "resamples"), ("results?table=3", "table"),
                                ("results?table=2&variants=all", "variants"), ("gates?variants=some", "variants")] {
            let response = try get("/v1/sweeps/\(sweepID)/\(target)")
            XCTAssertEqual(response.status, 400, target)
            XCTAssertEqual(response.error["param"] as? String, param, target)
        }
    }

    func testUnknownRoutesAndMethodsAnswerJSON() throws {
        let missing = try get("/v1/nothing")
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.error["code"] as? String, "route_not_found")
        let wrongMethod = try send("DELETE", "/v1/sweeps")
        XCTAssertEqual(wrongMethod.status, 405)
        XCTAssertNotNil(wrongMethod.headers["allow"])
    }
}

final class APINotReadyTests: APITestCase {
    override func setUpWithError() throws {
        readiness = ["workers": false, "migrations": true]
        try super.setUpWithError()
    }

    func testReadyzIs503NamingTheFailingCheck() throws {
        let response = try get("/readyz")
        XCTAssertEqual(response.status, 503)
        XCTAssertEqual(response.error["code"] as? String, "not_ready")
        XCTAssertTrue((response.error["message"] as? String ?? "").contains("workers"))
        XCTAssertNotNil(response.headers["retry-after"])
    }
}

final class APITokenTests: APITestCase {
    override var apiToken: String? { "s3cret-token" }

    func testV1NeedsTheBearerTokenAndOpsRoutesStayOpen() throws {
        for headers in [[], [("Authorization", "Bearer wrong")], [("Authorization", "Bearer ")],
                        [("Authorization", "Basic s3cret-token")], [("Authorization", "Bearer s3cret-token-and-more")]] {
            let response = try get("/v1/sweeps", headers: headers)
            XCTAssertEqual(response.status, 401, "\(headers)")
            XCTAssertEqual(response.error["code"] as? String, "invalid_api_key")
            XCTAssertEqual(response.headers["www-authenticate"], "Bearer")
            XCTAssertFalse(response.text.contains("s3cret"))
        }
        XCTAssertEqual(try get("/v1/sweeps", headers: [("Authorization", "Bearer s3cret-token")]).status, 200)
        XCTAssertEqual(try get("/v1/sweeps", headers: [("Authorization", "bearer s3cret-token")]).status, 200)
        XCTAssertEqual(try post("/v1/sweeps", "{}").status, 401, "checked before the body")
        XCTAssertEqual(try store.read { try $0.sweeps(limit: 10) }.items.count, 0)
        XCTAssertEqual(try get("/healthz").status, 200)
        XCTAssertEqual(try get("/readyz").status, 200)
        XCTAssertEqual(try get("/metrics").status, 200)
    }
}
