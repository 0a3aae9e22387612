import XCTest
@testable import JobStore

final class ReadTests: StoreTestCase {
    // MARK: Lists

    func testJobListIsNewestFirstWithFiltersAndCursor() throws {
        let older = try createSweep(seeds: 3, at: now - 100)
        let single = try store.write { try $0.enqueueJob(newJob(task: "sst2", method: "lora"), now: now) }
        let all = try store.read { try $0.jobs(limit: 10) }
        XCTAssertEqual(all.items.map(\.id), [single.id] + older.jobIDs.reversed())
        XCTAssertFalse(all.hasMore)

        var seen: [String] = []
        var after: String? = nil
        repeat {
            let page = try store.read { try $0.jobs(after: after, limit: 2) }
            seen += page.items.map(\.id)
            after = page.hasMore ? page.items.last?.id : nil
        } while after != nil
        XCTAssertEqual(seen, all.items.map(\.id))

        _ = try claimOne()
        let filters: [(JobFilter, [String])] = [
            (JobFilter(sweepID: older.sweep.id), older.jobIDs.reversed()),
            (JobFilter(status: .running), [older.jobIDs[0]]),
            (JobFilter(task: "sst2"), [single.id]),
            (JobFilter(method: "unipelt-apl"), older.jobIDs.reversed()),
            (JobFilter(createdAfter: now - 50), [single.id]),
            (JobFilter(sweepID: older.sweep.id, status: .queued), Array(older.jobIDs.dropFirst().reversed())),
        ]
        for (filter, expected) in filters {
            XCTAssertEqual(try store.read { try $0.jobs(filter, limit: 10) }.items.map(\.id), expected, "\(filter)")
        }
    }

    func testJobCountsByStatusOverAllJobs() throws {
        try createSweep(seeds: 3)
        _ = try store.write { try $0.enqueueJob(newJob(), now: now) }
        _ = try claimOne()
        XCTAssertEqual(try store.read { try $0.jobCountsByStatus() },
                       [.queued: 3, .running: 1, .cancelling: 0, .succeeded: 0, .failed: 0, .cancelled: 0])
    }

    func testUnknownCursorIsATypedError() throws {
        try createSweep(seeds: 1)
        assertThrows(.invalidCursor(.job, cursor: "job_gone"), try store.read { try $0.jobs(after: "job_gone", limit: 5) })
        assertThrows(.invalidCursor(.sweep, cursor: "swp_gone"), try store.read { try $0.sweeps(after: "swp_gone", limit: 5) })
    }

    func testSweepListNewestFirstFilteredByDerivedStatus() throws {
        let a = try createSweep(seeds: 1, at: now - 2)
        let b = try createSweep(seeds: 1, at: now - 1)
        let c = try createSweep(seeds: 1, at: now)
        _ = try store.write { try $0.pauseSweep(id: b.sweep.id, now: now) }
        _ = try store.write { try $0.cancelSweep(id: c.sweep.id, now: now) }
        XCTAssertEqual(try store.read { try $0.sweeps(limit: 10) }.items.map(\.id), [c, b, a].map(\.sweep.id))
        XCTAssertEqual(try store.read { try $0.sweeps(status: .paused, limit: 10) }.items.map(\.id), [b.sweep.id])
        XCTAssertEqual(try store.read { try $0.sweeps(status: .cancelled, limit: 10) }.items.map(\.id), [c.sweep.id])
        let page = try store.read { try $0.sweeps(after: c.sweep.id, limit: 1) }
        XCTAssertEqual(page.items.map(\.id), [b.sweep.id])
        XCTAssertTrue(page.hasMore)
    }

    func testNotFound() {
        assertThrows(.notFound(.job, id: "job_x"), try job("job_x"))
        assertThrows(.notFound(.job, id: "job_x"), try store.read { try $0.events(jobID: "job_x", limit: 1) })
        assertThrows(.notFound(.job, id: "job_x"), try store.read { try $0.metrics(jobID: "job_x", window: StepWindow(limit: 1)) })
        assertThrows(.notFound(.job, id: "job_x"), try store.read { try $0.checkpoints(jobID: "job_x") })
    }

    // MARK: Events

    func testEventsAscendingWithCursor() throws {
        try createSweep(seeds: 1)
        let claimed = try claimOne()
        for index in 1...4 {
            _ = try store.write {
                try $0.appendEvent(NewEvent(jobID: claimed.job.id, level: .warning, type: "eval", message: "eval \(index)",
                                            data: #"{"i":\#(index)}"#), lease: claimed.lease, now: now + index)
            }
        }
        let first = try store.read { try $0.events(jobID: claimed.job.id, limit: 3) }
        XCTAssertEqual(first.items.map(\.message), ["attempt 1 claimed by w1", "eval 1", "eval 2"])
        XCTAssertTrue(first.hasMore)
        XCTAssertTrue(first.items[1].id.hasPrefix("evt_"))
        XCTAssertEqual(first.items[1].level, .warning)
        XCTAssertEqual(first.items[1].data, #"{"i":1}"#)
        XCTAssertEqual(first.items[1].createdAt, now + 1)
        let rest = try store.read { try $0.events(jobID: claimed.job.id, after: first.items.last!.id, limit: 3) }
        XCTAssertEqual(rest.items.map(\.message), ["eval 3", "eval 4"])
        XCTAssertFalse(rest.hasMore)
        assertThrows(.invalidCursor(.event, cursor: "evt_x"),
                     try store.read { try $0.events(jobID: claimed.job.id, after: "evt_x", limit: 3) })
    }

    // MARK: Metrics and gates

    private func recordSteps(_ lease: Lease, steps: [Int], names: [String] = ["train_loss", "valid_acc"]) throws {
        for step in steps {
            try store.write {
                try $0.recordMetrics(lease, step: step, epoch: Double(step) / 10, wallTime: Double(now + step),
                                     values: names.map { NamedValue(name: $0, value: Double(step) * 0.01) })
            }
        }
    }

    /// Each claim's answer is looked up among its own job's events of that type, not among every answer of
    /// every job (asked on every Slurm pass, for every claim).
    func testUnansweredEventsFindTheirAnswersByJobAndType() throws {
        let (sql, arguments) = StoreReader.unansweredEventsQuery("slurm_task", "slurm_task_ended", ["$.attempt"])
        let plan = try store.read { reader in
            try reader.connection.query("EXPLAIN QUERY PLAN " + sql, arguments) { $0.text(3) }
        }
        XCTAssertTrue(plan.contains { $0.contains("answer USING INDEX events_by_job_and_type (job_id=? AND type=?)") },
                      "\(plan)")
    }

    func testMetricHistoryAscendingPagedByStep() throws {
        try createSweep(seeds: 1)
        let claimed = try claimOne()
        try recordSteps(claimed.lease, steps: [0, 10, 20, 30, 40])
        let page = try store.read { try $0.metrics(jobID: claimed.job.id, window: StepWindow(afterStep: 0, limit: 2)) }
        XCTAssertEqual(page.points.map(\.step), [10, 10, 20, 20])
        XCTAssertEqual(page.points.map(\.name), ["train_loss", "valid_acc", "train_loss", "valid_acc"])
        XCTAssertEqual(page.points[0].epoch, 1.0)
        XCTAssertEqual(page.points[0].wallTime, Double(now + 10))
        XCTAssertEqual(page.points[0].attempt, 1)
        XCTAssertTrue(page.hasMore)
        XCTAssertEqual(page.nextAfterStep, 20)
        let last = try store.read {
            try $0.metrics(jobID: claimed.job.id, names: ["valid_acc"], window: StepWindow(afterStep: 20, limit: 10))
        }
        XCTAssertEqual(last.points.map(\.step), [30, 40])
        XCTAssertEqual(Set(last.points.map(\.name)), ["valid_acc"])
        XCTAssertFalse(last.hasMore)
        let none = try store.read { try $0.metrics(jobID: claimed.job.id, window: StepWindow(afterStep: 40, limit: 10)) }
        XCTAssertEqual(none, StepPage(points: [], hasMore: false, nextAfterStep: nil))
    }

    func testDownsamplingKeepsFirstLastAndEvenlySpacedSteps() throws {
        XCTAssertEqual(evenlySpaced(Array(0...10), maxPoints: 3), [0, 5, 10])
        XCTAssertEqual(evenlySpaced(Array(0...9), maxPoints: 4), [0, 3, 6, 9])
        XCTAssertEqual(evenlySpaced([1, 2, 3], maxPoints: 5), [1, 2, 3])
        XCTAssertEqual(evenlySpaced([1, 2, 3], maxPoints: 1), [3])
        let thousand = evenlySpaced(Array(0..<1000), maxPoints: 320)
        XCTAssertEqual(thousand.count, 320)
        XCTAssertEqual(Set(thousand).count, 320)
        XCTAssertEqual([thousand.first, thousand.last], [0, 999])

        try createSweep(seeds: 1)
        let claimed = try claimOne()
        try recordSteps(claimed.lease, steps: Array(stride(from: 0, through: 100, by: 10)), names: ["loss"])
        let page = try store.read {
            try $0.metrics(jobID: claimed.job.id, window: StepWindow(limit: 100, maxPoints: 3))
        }
        XCTAssertEqual(page.points.map(\.step), [0, 50, 100])
    }

    /// At-least-once execution: a step written again (same or later attempt) replaces its rows.
    func testRewritingAStepDoesNotDuplicateRows() throws {
        try createSweep(seeds: 1)
        let first = try claimOne()
        try recordSteps(first.lease, steps: [0, 10])
        _ = try store.write { try $0.rescueExpiredLeases(now: now + lease + 1) }
        let second = try claimOne(at: now + 100)
        try recordSteps(second.lease, steps: [10, 20])
        try store.write { try $0.recordMetrics(second.lease, step: 20, epoch: 2, wallTime: 1, values: [NamedValue(name: "train_loss", value: 9)]) }
        let points = try store.read { try $0.metrics(jobID: first.job.id, names: ["train_loss"], window: StepWindow(limit: 10)) }.points
        XCTAssertEqual(points.map(\.step), [0, 10, 20])
        XCTAssertEqual(points.map(\.attempt), [1, 2, 2])
        XCTAssertEqual(points.last?.value, 9)
    }

    func testGatesFilteredByLayerAndSubmodule() throws {
        try createSweep(seeds: 1)
        let claimed = try claimOne()
        for step in [100, 200, 300] {
            let values = (0..<2).flatMap { layer in
                GateSubmodule.allCases.map { GateValue(layer: layer, submodule: $0, value: Double(step + layer) / 1000) }
            }
            try store.write { try $0.recordGates(claimed.lease, step: step, values: values) }
            try store.write { try $0.recordGates(claimed.lease, step: step, values: values) }  // re-run: no duplicates
        }
        let all = try store.read { try $0.gates(jobID: claimed.job.id, window: StepWindow(limit: 10)) }
        XCTAssertEqual(all.points.count, 3 * 2 * 4)
        XCTAssertEqual(all.points.prefix(4).map(\.submodule), [.adapter, .loraQuery, .loraValue, .prefix])
        let one = try store.read {
            try $0.gates(jobID: claimed.job.id, layer: 1, submodule: .loraValue, window: StepWindow(afterStep: 100, limit: 10, maxPoints: 10))
        }
        XCTAssertEqual(one.points.map(\.step), [200, 300])
        XCTAssertEqual(one.points.map(\.value), [0.201, 0.301])
        XCTAssertTrue(one.points.allSatisfy { $0.layer == 1 && $0.submodule == .loraValue })
    }

    // MARK: Checkpoints

    func testCheckpointsListedByStepWithBestOnTheJob() throws {
        try createSweep(seeds: 1)
        let claimed = try claimOne()
        let hash = String(repeating: "ab", count: 32)
        func record(_ name: String, _ step: Int, best: Bool) throws -> (checkpoint: Checkpoint, replacedPath: String?) {
            try store.write {
                try $0.recordCheckpoint(claimed.lease, NewCheckpoint(name: name, step: step, path: "checkpoints/\(name)-\(step)",
                                                                     bytes: step, sha256: hash, metrics: #"{"acc":0.5}"#),
                                        isBest: best, now: now + step)
            }
        }
        let best = try record("best", 100, best: true)
        XCTAssertNil(best.replacedPath)
        let last = try record("last", 200, best: false).checkpoint
        XCTAssertTrue(best.checkpoint.id.hasPrefix("ckpt_"))
        XCTAssertEqual(try job(claimed.job.id).bestCheckpointID, best.checkpoint.id)
        let newLast = try record("last", 300, best: false)
        XCTAssertEqual(newLast.checkpoint.id, last.id, "re-recording a name keeps its id")
        XCTAssertEqual(newLast.checkpoint.step, 300)
        XCTAssertEqual(newLast.replacedPath, "checkpoints/last-200", "the caller deletes the file it replaced")
        let list = try store.read { try $0.checkpoints(jobID: claimed.job.id) }
        XCTAssertEqual(list.map(\.name), ["best", "last"])
        XCTAssertEqual(list.map(\.bytes), [100, 300])
        XCTAssertEqual(try store.read { try $0.checkpoint(id: best.checkpoint.id, jobID: claimed.job.id) }, best.checkpoint)
        assertThrows(.notFound(.checkpoint, id: best.checkpoint.id),
                     try store.read { try $0.checkpoint(id: best.checkpoint.id, jobID: "job_other") })
    }

    // MARK: Results

    func testSweepRunsReadTheResultNumbersOfSucceededJobs() throws {
        let cells = [("rte", KShot.examples(100), "lora"), ("rte", .all, "lora"), ("rte", .examples(16), "bitfit")]
        let jobs = cells.flatMap { task, k, method in (1...3).map { newJob(task: task, k: k, seed: $0, method: method) } }
        let created = try store.write { try $0.createSweep(NewSweep(name: "r", spec: "{}"), jobs: jobs, now: now) }
        let values: [Double] = [0.70, 0.72, 0.74, 0.60, 0.60, 0.60, 0.50]
        for value in values {
            let claimed = try claimOne()
            _ = try store.write {
                try $0.finish(claimed.lease, result: #"{"metric":"accuracy","test_metric":\#(value),"best_dev_metric":0.5,"best_step":9}"#,
                              now: now)
            }
        }
        // The 8th job succeeded without a numeric test metric; the 9th is still queued.
        let odd = try claimOne()
        _ = try store.write { try $0.finish(odd.lease, result: #"{"metric":"f1","test_metric":{"value":1}}"#, now: now) }
        let runs = try store.read { try $0.sweepRuns(sweepID: created.sweep.id) }
        XCTAssertEqual(runs.count, 9)
        let lora100 = runs.filter { $0.k == .examples(100) }
        XCTAssertEqual(lora100.map(\.seed), [1, 2, 3])
        XCTAssertEqual(lora100.map(\.testMetric), [0.70, 0.72, 0.74])
        XCTAssertEqual(lora100.map(\.devMetric), [0.5, 0.5, 0.5])
        XCTAssertEqual(lora100.map(\.metricName), ["accuracy", "accuracy", "accuracy"])
        let bitfit = runs.filter { $0.method == "bitfit" }
        XCTAssertEqual(bitfit.map(\.succeeded), [true, true, false])
        XCTAssertEqual(bitfit.map(\.testMetric), [0.5, nil, nil], "a non-numeric metric and a queued job give no value")
        XCTAssertEqual(bitfit[1].metricName, "f1")
        // Other result layouts name their own paths.
        var paths = ResultPaths()
        paths.testMetric = "$.test_metric.value"
        let nested = try store.read { try $0.sweepRuns(sweepID: created.sweep.id, paths: paths) }
        XCTAssertEqual(nested.first { $0.method == "bitfit" && $0.seed == 2 }?.testMetric, 1)
    }

    // MARK: Idempotency

    func testIdempotencyKeyLifecycle() throws {
        let request = IdempotentRequest(key: "k1", method: "POST", path: "/v1/sweeps", bodySHA256: "aa")
        XCTAssertEqual(try store.write { try $0.beginIdempotentRequest(request, now: now) }, .proceed)
        assertThrows(.idempotencyKeyInUse(key: "k1"), try store.write { try $0.beginIdempotentRequest(request, now: now) })
        let response = StoredResponse(status: 201, body: Array(#"{"id":"swp_1"}"#.utf8))
        try store.write { writer in
            _ = try writer.createSweep(NewSweep(name: "x", spec: "{}"), jobs: [newJob()], now: now)
            try writer.completeIdempotentRequest(key: "k1", response: response)
        }
        XCTAssertEqual(try store.write { try $0.beginIdempotentRequest(request, now: now + 10) }, .replay(response))
        var other = request
        other.bodySHA256 = "bb"
        assertThrows(.idempotencyKeyReused(key: "k1"), try store.write { try $0.beginIdempotentRequest(other, now: now) })
        // After 24 hours the key is new again.
        let later = now + StoreWriter.idempotencyKeyLifetimeSeconds
        XCTAssertEqual(try store.write { try $0.beginIdempotentRequest(other, now: later) }, .proceed)
        // A new key clears the expired ones: clients that send a fresh key each time do not grow the table.
        let count = { try self.store.read { try $0.connection.queryOne("SELECT count(*) FROM idempotency_keys", []) { $0.int(0) } } }
        for index in 0..<3 {
            let fresh = IdempotentRequest(key: "fresh-\(index)", method: "POST", path: "/v1/sweeps", bodySHA256: "aa")
            XCTAssertEqual(try store.write { try $0.beginIdempotentRequest(fresh, now: later + 2 * index * StoreWriter.idempotencyKeyLifetimeSeconds) },
                           .proceed)
        }
        XCTAssertEqual(try count(), 1, "only the newest key is within its day")
        assertThrows(.notFound(.idempotencyKey, id: "k2"),
                     try store.write { try $0.completeIdempotentRequest(key: "k2", response: response) })
    }

    func testAbandonedAndOrphanedInFlightMarkers() throws {
        let request = IdempotentRequest(key: "k", method: "POST", path: "/v1/jobs", bodySHA256: "aa")
        XCTAssertEqual(try store.write { try $0.beginIdempotentRequest(request, now: now) }, .proceed)
        try store.write { try $0.abandonIdempotentRequest(key: "k") }
        XCTAssertEqual(try store.write { try $0.beginIdempotentRequest(request, now: now) }, .proceed)
        // The process died with the request in flight: the next instance may take the key over.
        let restarted = try JobStore(path: databasePath, now: now)
        XCTAssertEqual(try restarted.write { try $0.beginIdempotentRequest(request, now: now) }, .proceed)
        XCTAssertEqual(try restarted.write { try $0.purgeExpiredIdempotencyKeys(now: now) }, 0)
        XCTAssertEqual(try restarted.write { try $0.purgeExpiredIdempotencyKeys(now: now + 86_400) }, 1)
    }
}
