import Foundation
import XCTest
import JobStore
@testable import Service

final class APISweepsTests: APITestCase {
    func testCreateStoresEveryCellAndAnswersWithTheSweepAndItsFirstJobs() throws {
        let sweep = try createSweep(tasks: ["rte", "sst2"], k: #"[100, "all"]"#, seeds: [1, 2], methods: ["lora"],
                                    extra: #","name":"t1","hyperparameters":{"epochs":3},"max_concurrency":2,"metadata":{"owner":"ab"}"#)
        XCTAssertEqual(sweep["object"] as? String, "sweep")
        let id = try XCTUnwrap(sweep["id"] as? String)
        XCTAssertTrue(id.hasPrefix("swp_"))
        XCTAssertEqual(sweep["name"] as? String, "t1")
        XCTAssertEqual(sweep["status"] as? String, "active")
        XCTAssertEqual(sweep["job_count"] as? Int, 8)
        XCTAssertEqual((sweep["counts"] as? [String: Int])?["queued"], 8)
        XCTAssertEqual(sweep["max_concurrency"] as? Int, 2)
        XCTAssertEqual(sweep["metadata"] as? [String: String], ["owner": "ab"])
        XCTAssertEqual(sweep["created_at"] as? Int, clock.now)
        let jobs = try XCTUnwrap(sweep["jobs"] as? [String: Any])
        XCTAssertEqual(jobs["object"] as? String, "list")
        XCTAssertEqual((jobs["data"] as? [[String: Any]])?.count, 8)
        XCTAssertEqual(jobs["has_more"] as? Bool, false)

        // The stored spec is the document the worker parses: exactly these keys.
        let stored = try store.read { try $0.jobs(JobFilter(sweepID: id), limit: 100) }.items
        let specs = stored.map { (try? JSONSerialization.jsonObject(with: Data($0.spec.utf8))) as? [String: Any] ?? [:] }
        XCTAssertEqual(Set(specs.flatMap(\.keys)), ["task", "k", "seed", "method", "model", "hyperparameters"])
        let allSpec = try XCTUnwrap(specs.first { $0["k"] as? String == "all" })
        XCTAssertEqual(allSpec["hyperparameters"] as? [String: Int], ["epochs": 3])
        XCTAssertEqual(allSpec["model"] as? String, "minilm-l6", "no model named: the default model's name is recorded")
        XCTAssertTrue(specs.contains { $0["k"] as? Int == 100 })
        for job in stored {
            XCTAssertNoThrow(try JobSpecCoding.trainingSpec(fromStored: job.spec), "the worker reads \(job.spec)")
        }
        XCTAssertEqual(Set(stored.map(\.cellKey)).count, 8)
        XCTAssertTrue(stored.contains { $0.cellKey == "sst2/K=all/seed=2/lora" })
    }

    func testVaryingHyperparametersBecomeTheVariant() throws {
        let sweep = try createSweep(extra: #","hyperparameters":{"learning_rate":[0.0001,0.0005]}"#)
        let jobs = try store.read { try $0.jobs(JobFilter(sweepID: sweep["id"] as? String), limit: 100) }.items
        XCTAssertEqual(Set(jobs.map(\.variant)), ["learning_rate=0.0001", "learning_rate=0.0005"])
        XCTAssertTrue(jobs.contains { $0.cellKey == "rte/K=100/seed=2/lora/learning_rate=0.0005" })
    }

    func testDryRunReturnsTheExpansionAndStoresNothing() throws {
        let response = try post("/v1/sweeps", #"{"tasks":["rte"],"k":[100,500],"seeds":[1,2,3],"methods":["lora"],"dry_run":true}"#)
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(response.json()["object"] as? String, "sweep.dry_run")
        XCTAssertEqual(response.json()["job_count"] as? Int, 6)
        XCTAssertEqual((response.json()["keys"] as? [String])?.first, "rte/K=100/seed=1/lora")
        XCTAssertEqual(try store.read { try $0.sweeps(limit: 10) }.items.count, 0)
    }

    func testBadSpecsAreRejectedNamingTheParameter() throws {
        let base = #""tasks":["rte"],"k":[100],"seeds":[1],"methods":["lora"]"#
        let cases: [(body: String, status: Int, code: String, param: String?)] = [
            (#"{"tasks":["rte"],"k":[100],"seeds":[1],"methods":["lora","adapter","lora2"]}"#, 400, "invalid_value", "methods[2]"),
            (#"{"tasks":["rte"],"k":[0],"seeds":[1],"methods":["lora"]}"#, 400, "invalid_value", "k[0]"),
            (#"{"tasks":["wnli"],"k":[100],"seeds":[1],"methods":["lora"]}"#, 400, "invalid_value", "tasks[0]"),
            (#"{"tasks":["rte"],"k":[100],"seed":[1],"methods":["lora"]}"#, 400, "unknown_parameter", "seed"),
            // Seeds may be left out (the paper's five); methods may not.
            (#"{"tasks":["rte"],"k":[100],"seeds":[1]}"#, 400, "missing_parameter", "methods"),
            ("{\(base),\"hyperparameters\":{\"lr\":0.1}}", 400, "unknown_parameter", "hyperparameters.lr"),
            ("{\(base),\"hyperparameters\":{\"epochs\":[1,\"two\"]}}", 400, "invalid_value", "hyperparameters.epochs[1]"),
            ("{\(base),\"max_attempts\":0}", 400, "invalid_value", "max_attempts"),
            ("{\(base),\"max_concurrency\":-1}", 400, "invalid_value", "max_concurrency"),
            ("{\(base),\"metadata\":{\"owner\":1}}", 400, "invalid_value", "metadata.owner"),
            ("{\(base),\"model\":\"bert-huge\"}", 400, "invalid_value", "model"),
            (#"["rte"]"#, 400, "invalid_value", "body"),
            (#"{"tasks":["rte"],"#, 400, "invalid_json", nil),
            ("{\(base),\"tasks\":[\"sst2\"]}", 400, "invalid_json", nil),
        ]
        for (body, status, code, param) in cases {
            let response = try post("/v1/sweeps", body)
            XCTAssertEqual(response.status, status, body)
            XCTAssertEqual(response.error["code"] as? String, code, body)
            XCTAssertEqual(response.error["param"] as? String, param, body)
            XCTAssertNotNil(response.error["request_id"], body)
        }
        // The parse error says where: byte 14 is the end of the truncated document.
        XCTAssertTrue((try post("/v1/sweeps", #"{"tasks":["rte"],"#).error["message"] as? String ?? "").contains("at byte"))
        XCTAssertEqual(try store.read { try $0.sweeps(limit: 10) }.items.count, 0)
    }

    func testPostsNeedJSONAndABody() throws {
        let text = try send("POST", "/v1/sweeps", json: "{}", headers: [("Content-Type", "text/plain")])
        XCTAssertEqual(text.status, 415)
        XCTAssertEqual(text.error["code"] as? String, "unsupported_media_type")
        XCTAssertEqual(try post("/v1/sweeps").status, 411)
    }

    func testTenThousandJobsAreCreatedAndPaginatedAndOneMoreIsTooMany() throws {
        let methods = ["finetune", "bitfit", "adapter", "prefix", "lora", "unipelt-ap", "unipelt-apl", "unipelt-apl-nogate"]
        let started = Date()
        let sweep = try createSweep(tasks: ["rte", "sst2"], k: "[16, 32, 64, 100, 500]", seeds: Array(1...125), methods: methods)
        XCTAssertEqual(sweep["job_count"] as? Int, 10_000)
        let id = try XCTUnwrap(sweep["id"] as? String)
        var seen = Set<String>()
        var after: String?
        var pages = 0
        repeat {
            let page = try get("/v1/jobs?sweep_id=\(id)&limit=100" + (after.map { "&after=\($0)" } ?? ""))
            XCTAssertEqual(page.status, 200, page.text)
            seen.formUnion(page.data.compactMap { $0["id"] as? String })
            after = page.json()["has_more"] as? Bool == true ? page.json()["last_id"] as? String : nil
            pages += 1
        } while after != nil && pages < 200
        XCTAssertEqual(seen.count, 10_000)
        XCTAssertEqual(pages, 100)
        print("10 000-job sweep created and paged in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")

        // 73 seeds × 137 epochs = 10 001 cells.
        let tooMany = try post("/v1/sweeps", #"{"tasks":["rte"],"k":[100],"seeds":\#(Array(1...73)),"methods":["lora"],"hyperparameters":{"epochs":\#(Array(1...137))}}"#)
        XCTAssertEqual(tooMany.status, 400)
        XCTAssertEqual(tooMany.error["code"] as? String, "too_many_jobs")
        XCTAssertTrue((tooMany.error["message"] as? String ?? "").contains("10001"), tooMany.text)
        XCTAssertEqual(try store.read { try $0.sweeps(limit: 10) }.items.count, 1)
    }

    func testListIsNewestFirstWithStatusFilterAndCursor() throws {
        var ids: [String] = []
        for seed in 1...3 {
            ids.append(try XCTUnwrap(createSweep(seeds: [seed])["id"] as? String))
            clock.advance(by: 1)
        }
        let first = try get("/v1/sweeps?limit=2")
        XCTAssertEqual(first.data.compactMap { $0["id"] as? String }, [ids[2], ids[1]])
        XCTAssertEqual(first.json()["has_more"] as? Bool, true)
        XCTAssertEqual(first.json()["first_id"] as? String, ids[2])
        let second = try get("/v1/sweeps?limit=2&after=\(ids[1])")
        XCTAssertEqual(second.data.compactMap { $0["id"] as? String }, [ids[0]])
        XCTAssertEqual(second.json()["has_more"] as? Bool, false)

        XCTAssertEqual(try post("/v1/sweeps/\(ids[0])/pause").status, 200)
        XCTAssertEqual(try get("/v1/sweeps?status=paused").data.compactMap { $0["id"] as? String }, [ids[0]])

        for bad in ["limit=0", "limit=101", "limit=ten", "after=job_000000000000000000000000", "status=done"] {
            let response = try get("/v1/sweeps?\(bad)")
            XCTAssertEqual(response.status, 400, bad)
            XCTAssertEqual(response.error["param"] as? String, String(bad.prefix { $0 != "=" }), bad)
        }
        let unknownCursor = try get("/v1/sweeps?after=swp_000000000000000000000000")
        XCTAssertEqual(unknownCursor.status, 400)
        XCTAssertEqual(unknownCursor.error["code"] as? String, "invalid_cursor")
    }

    func testGetShowsCountsAndProgress() throws {
        let id = try XCTUnwrap(createSweep(seeds: [1, 2, 3, 4])["id"] as? String)
        let claimed = try XCTUnwrap(claim())
        _ = try store.write { try $0.finish(claimed.lease, result: "{}", now: clock.now) }
        _ = try XCTUnwrap(claim())
        let sweep = try get("/v1/sweeps/\(id)").json()
        XCTAssertEqual(sweep["counts"] as? [String: Int],
                       ["queued": 2, "running": 1, "cancelling": 0, "succeeded": 1, "failed": 0, "cancelled": 0])
        let progress = try XCTUnwrap(sweep["progress"] as? [String: Any])
        XCTAssertEqual(progress["finished"] as? Int, 1)
        XCTAssertEqual(progress["total"] as? Int, 4)
        XCTAssertEqual(progress["fraction"] as? Double, 0.25)
        XCTAssertNil(sweep["jobs"])
        for missing in ["swp_000000000000000000000000", "swp_x", "..", "job_000000000000000000000000"] {
            let response = try get("/v1/sweeps/\(missing)")
            XCTAssertTrue([400, 404].contains(response.status), missing)
        }
        XCTAssertEqual(try get("/v1/sweeps/swp_000000000000000000000000").error["code"] as? String, "sweep_not_found")
    }
}
