import Foundation
import XCTest
import JobStore
@testable import Service

/// Events, metrics and gates as pages, CSV and live streams (SSE and NDJSON).
final class APIJobHistoryTests: APITestCase {
    /// A running job of a one-job sweep, claimed by the simulated worker.
    private func runningJob() throws -> ClaimedJob {
        try createSweep(seeds: [1])
        return try XCTUnwrap(claim())
    }

    private func recordMetrics(_ claimed: ClaimedJob, steps: ClosedRange<Int>) throws {
        for step in steps {
            try store.write {
                try $0.recordMetrics(claimed.lease, step: step * 10, epoch: Double(step) / 10, wallTime: Double(clock.now) + 0.5,
                                     values: [NamedValue(name: "train_loss", value: 1 / Double(step)),
                                              NamedValue(name: "valid_acc", value: Double(step) / 100)])
            }
        }
    }

    func testEventsAscendingWithCursor() throws {
        let claimed = try runningJob()
        for index in 1...3 {
            try store.write { _ = try $0.appendEvent(NewEvent(jobID: claimed.job.id, type: "eval", message: "eval \(index)", data: #"{"i":\#(index)}"#), lease: claimed.lease, now: clock.now) }
        }
        let page = try get("/v1/jobs/\(claimed.job.id)/events?limit=2")
        XCTAssertEqual(page.data.compactMap { $0["type"] as? String }, ["claimed", "eval"])
        XCTAssertEqual(page.json()["has_more"] as? Bool, true)
        let next = try get("/v1/jobs/\(claimed.job.id)/events?after=\(page.json()["last_id"] as! String)")
        XCTAssertEqual(next.data.compactMap { $0["message"] as? String }, ["eval 2", "eval 3"])
        XCTAssertEqual((next.data.last?["data"] as? [String: Int])?["i"], 3)
        XCTAssertEqual(next.data.last?["object"] as? String, "event")
        XCTAssertEqual(try get("/v1/jobs/\(claimed.job.id)/events?after=evt_000000000000000000000000").error["code"] as? String, "invalid_cursor")
        XCTAssertEqual(try get("/v1/jobs/job_000000000000000000000000/events").status, 404)
    }

    func testMetricsJSONAndCSVWithKeysAndDownsampling() throws {
        let claimed = try runningJob()
        try recordMetrics(claimed, steps: 1...20)
        let all = try get("/v1/jobs/\(claimed.job.id)/metrics?limit=5")
        XCTAssertEqual(all.data.compactMap { $0["step"] as? Int }, [10, 20, 30, 40, 50])
        XCTAssertEqual(all.json()["next_after_step"] as? Int, 50)
        XCTAssertEqual(all.json()["has_more"] as? Bool, true)
        let first = try XCTUnwrap(all.data.first)
        XCTAssertEqual(first["object"] as? String, "metric")
        XCTAssertEqual(first["train_loss"] as? Double, 1)
        XCTAssertEqual(first["valid_acc"] as? Double, 0.01)
        XCTAssertEqual(first["wall_time"] as? Double, Double(clock.now) + 0.5)

        // The running job's newest step (200) is held back: its dev values may be still to come.
        let sampled = try get("/v1/jobs/\(claimed.job.id)/metrics?keys=valid_acc&max_points=4&after_step=50")
        XCTAssertEqual(sampled.data.compactMap { $0["step"] as? Int }, [60, 100, 150, 190])
        XCTAssertNil(sampled.data.first?["train_loss"])
        XCTAssertEqual(sampled.json()["has_more"] as? Bool, false)

        // Once the job has ended, its last step is whole.
        _ = try store.write { try $0.finish(claimed.lease, result: "{}", now: clock.now) }
        let csv = try get("/v1/jobs/\(claimed.job.id)/metrics?format=csv&keys=train_loss,valid_acc&max_points=2")
        XCTAssertEqual(csv.headers["content-type"], "text/csv; charset=utf-8")
        XCTAssertEqual(csv.text, """
        step,epoch,wall_time,train_loss,valid_acc
        10,0.1,\(Double(clock.now) + 0.5),1.0,0.01
        200,2.0,\(Double(clock.now) + 0.5),0.05,0.2

        """)
        for bad in ["after_step=-1", "max_points=0", "limit=100000", "format=xml"] {
            XCTAssertEqual(try get("/v1/jobs/\(claimed.job.id)/metrics?\(bad)").error["param"] as? String,
                           String(bad.prefix { $0 != "=" }), bad)
        }
    }

    func testGatesJSONAndCSVFilteredByLayerAndModule() throws {
        let claimed = try runningJob()
        for step in [100, 200, 300] {
            try store.write {
                try $0.recordGates(claimed.lease, step: step, values: (0..<2).flatMap { layer in
                    GateSubmodule.allCases.map { GateValue(layer: layer, submodule: $0, value: Double(step) / 1000 + Double(layer)) }
                })
            }
        }
        let all = try get("/v1/jobs/\(claimed.job.id)/gates")
        XCTAssertEqual(all.data.count, 3)
        XCTAssertEqual((all.data.first?["values"] as? [[String: Any]])?.count, 8)
        let one = try get("/v1/jobs/\(claimed.job.id)/gates?layer=1&module=Lq&max_points=2")
        XCTAssertEqual(one.data.compactMap { $0["step"] as? Int }, [100, 300])
        let values = try XCTUnwrap(one.data.last?["values"] as? [[String: Any]])
        XCTAssertEqual(values.count, 1)
        XCTAssertEqual(values[0]["module"] as? String, "Lq")
        XCTAssertEqual(values[0]["layer"] as? Int, 1)
        XCTAssertEqual(values[0]["value"] as? Double, 1.3)
        let csv = try get("/v1/jobs/\(claimed.job.id)/gates?module=A&layer=0&format=csv")
        XCTAssertEqual(csv.text, "step,layer,module,value\n100,0,A,0.1\n200,0,A,0.2\n300,0,A,0.3\n")
        XCTAssertEqual(try get("/v1/jobs/\(claimed.job.id)/gates?module=L").error["param"] as? String, "module")
    }

    /// Opens a stream and returns the connection with what was read up to `marker`.
    private func openStream(_ target: String, headers: [(String, String)], until marker: String) throws -> (RawConnection, [UInt8]) {
        let connection = try RawConnection(port: server.port)
        try connection.write(Self.requestBytes("GET", target, body: nil, headers: headers))
        var received: [UInt8] = []
        try connection.read(until: marker, into: &received, timeout: 5)
        return (connection, received)
    }

    func testSSEMetricsStreamReceivesLivePointsAndEndsWhenTheJobFinishes() throws {
        let claimed = try runningJob()
        try recordMetrics(claimed, steps: 1...2)
        // The newest step of a running job waits until it is whole (a later step is written or the job ends).
        let (connection, head) = try openStream("/v1/jobs/\(claimed.job.id)/metrics?keys=train_loss",
                                                headers: [("Accept", "text/event-stream")], until: "id: 10\n")
        let headText = String(decoding: head, as: UTF8.self)
        XCTAssertTrue(headText.hasPrefix("HTTP/1.1 200 OK"))
        XCTAssertTrue(headText.contains("Content-Type: text/event-stream"))
        // Points recorded after the stream started arrive live.
        try recordMetrics(claimed, steps: 3...3)
        var received = head
        try connection.read(until: "id: 20\n", into: &received, timeout: 5)
        _ = try store.write { try $0.finish(claimed.lease, result: "{}", now: clock.now) }
        received += try connection.readToEnd(timeout: 5)
        let response = try XCTUnwrap(Self.parse(received, method: "GET"))
        let records = response.text.components(separatedBy: "\n\n").filter { !$0.isEmpty && !$0.hasPrefix(":") }
        XCTAssertEqual(records.count, 4, response.text)
        XCTAssertEqual(records[0], #"id: 10"# + "\nevent: metric\n" + #"data: {"epoch":0.1,"object":"metric","step":10,"train_loss":1,"wall_time":\#(Double(clock.now) + 0.5)}"#)
        XCTAssertTrue(records[2].hasPrefix("id: 30\nevent: metric\n"))
        XCTAssertEqual(records[3], "event: end\n" + #"data: {"object":"end","status":"succeeded"}"#)
    }

    /// A step's dev values are written after its training values, in a second transaction. A live stream moves
    /// past each step it sends, so it holds a running job's newest step back until it is whole, and the step
    /// arrives with its dev values.
    func testAStreamSendsAStepWithItsLaterWrittenEvaluation() throws {
        let claimed = try runningJob()
        func record(_ step: Int, _ name: String) throws {
            try store.write {
                try $0.recordMetrics(claimed.lease, step: step, epoch: nil, wallTime: Double(clock.now),
                                     values: [NamedValue(name: name, value: Double(step))])
            }
        }
        try record(10, "train_loss")
        try record(20, "train_loss")
        let (connection, head) = try openStream("/v1/jobs/\(claimed.job.id)/metrics",
                                                headers: [("Accept", "application/x-ndjson")], until: "\"step\":10")
        try record(20, "valid_acc")  // the evaluation at step 20 ends
        try record(30, "train_loss")
        _ = try store.write { try $0.finish(claimed.lease, result: "{}", now: clock.now) }
        var received = head
        received += try connection.readToEnd(timeout: 5)
        let lines = try XCTUnwrap(Self.parse(received, method: "GET")).text.split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(lines.compactMap { $0["step"] as? Int }, [10, 20, 30])
        XCTAssertEqual(lines.first { $0["step"] as? Int == 20 }?["valid_acc"] as? Double, 20, "\(lines)")
        XCTAssertEqual(lines.last?["object"] as? String, "end")
    }

    func testNDJSONStreamResumesFromLastEventIDAndEndsForATerminalJob() throws {
        let claimed = try runningJob()
        try recordMetrics(claimed, steps: 1...4)
        _ = try store.write { try $0.finish(claimed.lease, result: "{}", now: clock.now) }
        let response = try get("/v1/jobs/\(claimed.job.id)/metrics?keys=valid_acc",
                               headers: [("Accept", "application/x-ndjson"), ("Last-Event-ID", "20")])
        XCTAssertEqual(response.headers["content-type"], "application/x-ndjson")
        let lines = response.text.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(lines.compactMap { $0?["step"] as? Int }, [30, 40])
        XCTAssertEqual(lines.last??["object"] as? String, "end")
        XCTAssertEqual(lines.last??["status"] as? String, "succeeded")

        // ?stream=true with after_step is the same for SSE; a stream cannot be CSV or downsampled.
        let sse = try get("/v1/jobs/\(claimed.job.id)/metrics?stream=true&after_step=30")
        XCTAssertTrue(sse.text.hasPrefix("id: 40\nevent: metric\n"), sse.text)
        XCTAssertEqual(try get("/v1/jobs/\(claimed.job.id)/metrics?stream=true&max_points=5").status, 400)
        XCTAssertEqual(try get("/v1/jobs/\(claimed.job.id)/metrics?stream=true&format=csv").status, 400)
        XCTAssertEqual(try get("/v1/jobs/\(claimed.job.id)/metrics?stream=true", headers: [("Last-Event-ID", "x")]).status, 400)
    }

    func testEventAndGateStreamsShareTheLoop() throws {
        let claimed = try runningJob()
        try store.write { try $0.recordGates(claimed.lease, step: 5, values: [GateValue(layer: 0, submodule: .prefix, value: 0.5)]) }
        let (connection, head) = try openStream("/v1/jobs/\(claimed.job.id)/events?stream=true",
                                                headers: [], until: "event: event\n")
        let claimedID = try XCTUnwrap(store.read { try $0.events(jobID: claimed.job.id, limit: 1) }.items.first?.id)
        XCTAssertTrue(String(decoding: head, as: UTF8.self).contains("id: \(claimedID)\n"))
        _ = try store.write { try $0.cancelJob(id: claimed.job.id, now: clock.now) }
        _ = try store.write { try $0.confirmCancelled(claimed.lease, now: clock.now) }
        let rest = String(decoding: try connection.readToEnd(timeout: 5), as: UTF8.self)
        XCTAssertTrue(rest.contains("cancel_requested"), rest)
        XCTAssertTrue(rest.contains(#"{"object":"end","status":"cancelled"}"#), rest)

        // Resume after the first event: it is not sent again.
        let resumed = try get("/v1/jobs/\(claimed.job.id)/events", headers: [("Accept", "text/event-stream"), ("Last-Event-ID", claimedID)])
        XCTAssertFalse(resumed.text.contains("id: \(claimedID)\n"))
        XCTAssertTrue(resumed.text.contains("event: end"))

        let gates = try get("/v1/jobs/\(claimed.job.id)/gates?stream=true")
        XCTAssertTrue(gates.text.hasPrefix("id: 5\nevent: gate\n" + #"data: {"object":"gate","step":5,"values":[{"layer":0,"module":"P","value":0.5}]}"#), gates.text)
        XCTAssertEqual(try get("/v1/jobs/job_000000000000000000000000/gates?stream=true").status, 404)
        let unknownCursor = try get("/v1/jobs/\(claimed.job.id)/events?stream=true",
                                    headers: [("Last-Event-ID", "evt_000000000000000000000000")])
        XCTAssertEqual(unknownCursor.status, 400, "checked before the stream starts")
        XCTAssertEqual(unknownCursor.error["code"] as? String, "invalid_cursor")
    }

    /// The test server allows one stream at a time, so a second stream gets through only once the first
    /// producer has noticed the client left and returned.
    func testStreamStopsWhenTheClientLeaves() throws {
        let claimed = try runningJob()
        let target = "/v1/jobs/\(claimed.job.id)/metrics?stream=true"
        let (first, _) = try openStream(target, headers: [], until: "200 OK")
        XCTAssertEqual(try get(target.replacingOccurrences(of: "metrics", with: "gates")).status, 503, "one stream at a time")
        first.hangUp()
        let deadline = Date(timeIntervalSinceNow: 5)
        var status = 0
        repeat {
            let (second, head) = try openStream(target, headers: [], until: "\r\n")
            status = Int(String(decoding: head, as: UTF8.self).split(separator: " ")[1]) ?? 0
            second.hangUp()
            if status != 200 { Thread.sleep(forTimeInterval: 0.05) }
        } while status != 200 && Date() < deadline
        XCTAssertEqual(status, 200)
    }
}
