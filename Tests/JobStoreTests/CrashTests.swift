import Foundation
import XCTest
@testable import JobStore

/// Real processes killed (or stopped) at real points: nothing queued or finished is lost, nothing is
/// claimed twice, and a worker that outlived its lease is fenced out.
final class CrashTests: StoreTestCase {
    private var unixNow: Int { Int(Date().timeIntervalSince1970) }
    private let steps = 4

    override func setUpWithError() throws {
        _ = try WorkerProcess.requireExecutable()
        try super.setUpWithError()
    }

    private func count(_ sql: String) throws -> Int {
        try store.read { try $0.connection.queryOne(sql) { $0.int(0) } ?? -1 }
    }

    /// SIGKILL inside a sweep insert, between claim and heartbeat, mid result write, and between a
    /// checkpoint's rename and its row, then restart (a new instance rescues the old leases) and check
    /// that nothing is lost, half-written, duplicated or stuck.
    func testKilledWorkersLoseNothing() throws {
        let checkpoints = directory.appendingPathComponent("checkpoints").path
        let phases = ["in-sweep-insert", "claimed", "mid-result-write", "checkpoint-rename"]
        var committedJobs = Set<String>()
        var killedInsideSweepInsert = 0
        var rescuedLeases = 0
        let rounds = 24
        var generator = SystemRandomNumberGenerator()
        for round in 0..<rounds {
            let phase = phases[round % phases.count]
            let queued = try count("SELECT count(*) FROM jobs WHERE status = 'queued'")
            if phase != "in-sweep-insert" && queued < 2 {
                try store.write {
                    _ = try $0.createSweep(NewSweep(name: "seed", spec: #"{"job_count":3}"#),
                                           jobs: (1...3).map { newJob(seed: $0) }, now: unixNow)
                }
            }
            let worker = phase == "in-sweep-insert"
                ? try WorkerProcess(["enqueue", "--db", databasePath, "--sweeps", "20", "--jobs", "8"])
                : try WorkerProcess(["work", "--db", databasePath, "--owner", "crash\(round)", "--steps", "\(steps)",
                                     "--dir", checkpoints, "--threads", "2"])
            // Kill a random moment after the first or second occurrence of the marker.
            let occurrence = Int.random(in: 0...1, using: &generator)
            let line = worker.waitForLine(startingWith: phase, occurrence: occurrence)
                ?? worker.waitForLine(startingWith: phase)
            XCTAssertNotNil(line, "round \(round): no \(phase) marker; output: \(worker.lines.suffix(5))")
            usleep(UInt32.random(in: 0...3_000, using: &generator))
            worker.signal(SIGKILL)
            XCTAssertEqual(worker.waitForExit(), SIGKILL, "round \(round)")
            let markers = worker.lines
            if markers.filter({ $0 == "in-sweep-insert" }).count > markers.filter({ $0 == "sweep-committed" }).count {
                killedInsideSweepInsert += 1
            }

            // Restart: a new process instance rescues what the killed one held.
            store = try JobStore(path: databasePath, now: unixNow)
            let rescue = try store.write { try $0.rescueLeasesOfPreviousInstances(now: unixNow) }
            rescuedLeases += rescue.requeued.count + rescue.failed.count + rescue.cancelled.count
            try checkInvariants(round: round, committedJobs: &committedJobs, checkpointDirectory: checkpoints)
        }

        print("crash rounds: \(rounds); killed inside an uncommitted sweep insert: \(killedInsideSweepInsert); "
              + "leases rescued after kills: \(rescuedLeases)")
        XCTAssertGreaterThan(killedInsideSweepInsert, 0)
        XCTAssertGreaterThan(rescuedLeases, 0)

        // Drain what is left with a worker that is not killed: every job ends. A fresh sweep makes
        // sure it has work even if the kills used up every earlier job's attempts.
        try store.write {
            _ = try $0.createSweep(NewSweep(name: "after", spec: #"{"job_count":3}"#),
                                   jobs: (1...3).map { newJob(seed: $0) }, now: unixNow)
        }
        let drain = try WorkerProcess(["work", "--db", databasePath, "--owner", "drain", "--steps", "\(steps)",
                                       "--dir", checkpoints, "--threads", "2"])
        XCTAssertEqual(drain.waitForExit(timeout: 60), 0, "drain")
        try checkInvariants(round: rounds, committedJobs: &committedJobs, checkpointDirectory: checkpoints)
        let unfinished = try count("""
            SELECT count(*) FROM jobs
            WHERE NOT (status = 'succeeded' OR (status = 'failed' AND error_code = 'max_attempts_exceeded'))
            """)
        let breakdown = try store.read {
            try $0.connection.query("SELECT status || ' ' || coalesce(error_code, '') || count(*) FROM jobs GROUP BY status, error_code") { $0.text(0) }
        }
        XCTAssertEqual(unfinished, 0, breakdown.joined(separator: ", "))
        XCTAssertGreaterThan(try count("SELECT count(*) FROM jobs WHERE status = 'succeeded'"), 0)
        XCTAssertGreaterThan(try count("SELECT count(*) FROM jobs WHERE attempt > 1"), 0, "some job was rescued and re-run")
    }

    private func checkInvariants(round: Int, committedJobs: inout Set<String>, checkpointDirectory: String,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        let context = "round \(round)"
        try store.read { reader in
            let db = reader.connection
            XCTAssertEqual(try db.pragma("integrity_check"), "ok", context, file: file, line: line)
            // Every sweep is all or nothing.
            let partial = try db.query("""
                SELECT id FROM sweeps s
                WHERE (SELECT count(*) FROM jobs WHERE sweep_id = s.id) <> json_extract(spec, '$.job_count')
                """) { $0.text(0) }
            XCTAssertEqual(partial, [], context, file: file, line: line)
            // No job lost: every job seen committed before is still there.
            let jobs = Set(try db.query("SELECT id FROM jobs") { $0.text(0) })
            XCTAssertTrue(committedJobs.isSubset(of: jobs), context, file: file, line: line)
            committedJobs = jobs
            // None stuck: the restart rescued every lease of the killed process.
            XCTAssertEqual(try db.queryOne("SELECT count(*) FROM jobs WHERE status IN ('running', 'cancelling')") { $0.int(0) },
                           0, context, file: file, line: line)
            // Results: a succeeded job has its result and exactly one row per metric and step, with the
            // values the worker computes; no job has more rows than steps.
            let badSucceeded = try db.query("""
                SELECT id FROM jobs j WHERE status = 'succeeded' AND (result IS NULL
                    OR (SELECT count(*) FROM metrics m WHERE m.job_id = j.id) <> ?
                    OR (SELECT count(*) FROM gates g WHERE g.job_id = j.id) <> ?)
                """, [.integer(steps * 2), .integer(steps * 4)]) { $0.text(0) }
            XCTAssertEqual(badSucceeded, [], context, file: file, line: line)
            let badValues = try db.queryOne("""
                SELECT count(*) FROM metrics WHERE value <> step * 0.5 OR step NOT BETWEEN 1 AND ?
                """, [.integer(steps)]) { $0.int(0) }
            XCTAssertEqual(badValues, 0, context, file: file, line: line)
            // A listed checkpoint is a whole file with the recorded size and digest.
            let rows = try db.query("SELECT job_id, step, path, bytes, sha256 FROM checkpoints") {
                ($0.text(0), $0.int(1), $0.text(2), $0.int(3), $0.text(4))
            }
            for (jobID, step, path, bytes, _) in rows {
                let contents = try Data(contentsOf: URL(fileURLWithPath: path))
                XCTAssertEqual(contents.count, bytes, "\(context) \(path)", file: file, line: line)
                XCTAssertTrue(String(decoding: contents.prefix(100), as: UTF8.self).hasPrefix("job \(jobID) step \(step)\n"),
                              "\(context): \(path) holds another step than its row", file: file, line: line)
            }
            if !rows.isEmpty {
                let sums = try sha256sum(rows.map(\.2))
                XCTAssertEqual(sums, Dictionary(uniqueKeysWithValues: rows.map { ($0.2, $0.4) }), context, file: file, line: line)
            }
        }
    }

    /// Digests by an independent implementation (coreutils).
    private func sha256sum(_ paths: [String]) throws -> [String: String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = paths
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var sums: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            sums[String(parts[1].drop(while: { $0 == " " || $0 == "*" }))] = String(parts[0])
        }
        return sums
    }

    /// Two processes with four threads each claim from 1,000 jobs; each job is claimed exactly once.
    func testTwoProcessesClaimEveryJobExactlyOnce() throws {
        let created = try store.write {
            try $0.createSweep(NewSweep(name: "q4", spec: "{}"), jobs: (0..<1000).map { newJob(seed: $0) }, now: unixNow)
        }
        let startFile = directory.appendingPathComponent("start").path
        let workers = try ["a", "b"].map {
            try WorkerProcess(["claim", "--db", databasePath, "--owner", $0, "--threads", "4", "--start-file", startFile,
                               "--work-ms", "10"])
        }
        for worker in workers { XCTAssertNotNil(worker.waitForLine(startingWith: "ready")) }
        XCTAssertTrue(FileManager.default.createFile(atPath: startFile, contents: nil))
        for worker in workers { XCTAssertEqual(worker.waitForExit(timeout: 60), 0) }
        let claims = workers.flatMap(\.lines).filter { $0.hasPrefix("claimed ") }
        let claimedIDs = claims.map { String($0.split(separator: " ")[1]) }
        XCTAssertEqual(claimedIDs.count, 1000)
        XCTAssertEqual(Set(claimedIDs), Set(created.jobIDs))
        XCTAssertTrue(claims.allSatisfy { $0.hasSuffix(" 1") }, "every claim was a first attempt")
        let perProcess = workers.map { $0.lines.filter { $0.hasPrefix("claimed ") }.count }
        print("claims per process: \(perProcess)")
        XCTAssertTrue(perProcess.allSatisfy { $0 > 0 }, "both processes claimed")
        XCTAssertEqual(try count("SELECT count(*) FROM jobs WHERE status = 'succeeded' AND attempt = 1"), 1000)
        XCTAssertEqual(try count("SELECT count(*) FROM events WHERE type = 'claimed'"), 1000)
    }

    /// A worker stopped (SIGSTOP) past its lease loses the job to the rescuer; when it wakes up its writes
    /// change nothing and it stops.
    func testStoppedWorkerIsFencedOutAfterItsLeaseIsRescued() throws {
        let created = try createSweep(seeds: 1)
        let jobID = created.jobIDs[0]
        let stale = try WorkerProcess(["stale", "--db", databasePath, "--owner", "stale", "--lease", "2",
                                       "--heartbeat-ms", "20"])
        XCTAssertEqual(stale.waitForLine(startingWith: "claimed"), "claimed \(jobID)")
        // Let it heartbeat a little, then stop it outside a write transaction (a stopped process
        // holding the write lock would block everyone, which is not this test's subject).
        usleep(100_000)
        let probe = try Connection(path: databasePath, settings: ConnectionSettings(busyTimeoutMilliseconds: 0), queryOnly: false)
        while true {
            stale.signal(SIGSTOP)
            usleep(5_000)
            if (try? probe.transaction(immediate: true) {}) != nil { break }
            stale.signal(SIGCONT)
            usleep(3_000)
        }
        let metricRowsAtStop = try count("SELECT count(*) FROM metrics")
        XCTAssertGreaterThan(metricRowsAtStop, 0)

        // The lease runs out while it sleeps (the rescuer is told the time instead of waiting for it).
        let later = unixNow + 3
        XCTAssertEqual(try store.write { try $0.rescueExpiredLeases(now: later) }.requeued, [jobID])
        let reclaimed = try claimOne(owner: "fresh", at: later)
        XCTAssertEqual(reclaimed.job.attempt, 2)

        stale.signal(SIGCONT)
        XCTAssertEqual(stale.waitForExit(), 3, "exit 3: heartbeat, metrics and finish were all refused; \(stale.lines)")
        XCTAssertEqual(stale.lines.suffix(3), ["lease-lost heartbeat", "lease-lost metrics", "lease-lost finish"])
        let current = try job(jobID)
        XCTAssertEqual(current.status, .running)
        XCTAssertEqual(current.leaseOwner, "fresh")
        XCTAssertNil(current.result)
        XCTAssertEqual(try count("SELECT count(*) FROM metrics"), metricRowsAtStop)
        XCTAssertEqual(try store.write { try $0.finish(reclaimed.lease, result: "{}", now: later) }.status, .succeeded)
    }
}
