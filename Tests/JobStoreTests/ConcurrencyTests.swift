import Foundation
import XCTest
@testable import JobStore

/// The store shared by many threads of one process, as the service uses it: write contention never
/// surfaces as `database is locked`.
final class ConcurrencyTests: StoreTestCase {
    /// Writers on four threads (1,000 transactions each) proceed while a read transaction stays open
    /// (WAL), the reader keeps its snapshot, no writer sees SQLITE_BUSY, and once the reader ends the
    /// WAL file shrinks back to its size limit.
    func testWritersProceedWhileALongReadIsOpen() throws {
        try createSweep(seeds: 4)
        let leases = try claim(4).map(\.lease)
        let writers = DispatchGroup()
        let failures = Locked<[Error]>([])
        let stepsPerWriter = 1_000
        let (snapshotCount, finishedInTime) = try store.read { reader -> (Int, Bool) in
            let before = try reader.connection.queryOne("SELECT count(*) FROM metrics") { $0.int(0) }!
            for lease in leases {
                DispatchQueue.global().async(group: writers) {
                    do {
                        for step in 0..<stepsPerWriter {
                            try self.store.write {
                                try $0.recordMetrics(lease, step: step, epoch: nil, wallTime: 0,
                                                     values: [NamedValue(name: "loss", value: 1)])
                            }
                        }
                    } catch {
                        failures.mutate { $0.append(error) }
                    }
                }
            }
            let finished = writers.wait(timeout: .now() + 30) == .success
            let after = try reader.connection.queryOne("SELECT count(*) FROM metrics") { $0.int(0) }!
            XCTAssertEqual(after, before, "a read transaction sees one snapshot")
            return (before, finished)
        }
        XCTAssertTrue(finishedInTime, "writers were blocked by the open read")
        XCTAssertEqual(snapshotCount, 0)
        XCTAssertTrue(failures.current.isEmpty, "\(failures.current)")
        XCTAssertEqual(try store.read { try $0.connection.queryOne("SELECT count(*) FROM metrics") { $0.int(0) } },
                       4 * stepsPerWriter)

        // With the reader gone, the next commits checkpoint the WAL and truncate it to the limit.
        for step in stepsPerWriter..<(stepsPerWriter + 3) {
            try store.write {
                try $0.recordMetrics(leases[0], step: step, epoch: nil, wallTime: 0, values: [NamedValue(name: "loss", value: 1)])
            }
        }
        let walBytes = (try FileManager.default.attributesOfItem(atPath: store.path + "-wal")[.size] as? Int) ?? 0
        XCTAssertLessThanOrEqual(walBytes, Connection.walSizeLimitBytes, "WAL of \(walBytes) bytes after the reader ended")
    }

    /// Many threads claiming through one store claim each job once.
    func testThreadsOfOneProcessClaimEachJobOnce() throws {
        let created = try createSweep(seeds: 200)
        let claimed = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            while let job = try? store.write({ try $0.claim(limit: 3, owner: "t\(thread)", leaseSeconds: lease, now: now) }),
                  !job.isEmpty {
                claimed.mutate { $0 += job.map(\.job.id) }
                _ = try? store.read { try $0.jobs(JobFilter(status: .running), limit: 5) }
            }
        }
        XCTAssertEqual(claimed.current.count, 200)
        XCTAssertEqual(Set(claimed.current), Set(created.jobIDs))
    }
}
