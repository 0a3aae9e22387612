// Returns jobs whose worker is gone to the queue (River's JobRescuer, Oban's Lifeline). A job is
// rescued when its lease expired, or, at startup, when an earlier process instance leased it to one of
// its own workers: that process is dead, so waiting for its leases to expire only delays the restart.
// A lease granted to a pull worker (another process, perhaps another machine) is rescued only when it
// expires: that worker may well still be training.
import Dispatch
import Foundation

/// What one rescue pass did, by job id.
public struct RescueReport: Equatable, Sendable {
    /// Back to `queued`; the next claim makes it attempt + 1.
    public var requeued: [String] = []
    /// Out of attempts: `failed` with code `max_attempts_exceeded`.
    public var failed: [String] = []
    /// Was `cancelling`: nobody will confirm it, so it is `cancelled` now.
    public var cancelled: [String] = []

    public var isEmpty: Bool { requeued.isEmpty && failed.isEmpty && cancelled.isEmpty }
}

extension StoreWriter {
    /// Rescues every job whose lease expired before `now`.
    public func rescueExpiredLeases(now: Int) throws -> RescueReport {
        try rescue(leasesWhere: "lease_expires_at < ?1", [.integer(now)], reason: "lease expired", now: now)
    }

    /// Rescues every job leased by an earlier process instance for its own workers, expired or not (a pull
    /// worker's lease is held elsewhere and left to expire). Call it once at startup. It assumes one
    /// service process per database: another live process's jobs would be taken from it (its writes then
    /// fail with `leaseLost`).
    public func rescueLeasesOfPreviousInstances(now: Int) throws -> RescueReport {
        try rescue(leasesWhere: "instance_id <> ?1 AND lease_in_this_process", [.text(instanceID)],
                   reason: "its process instance ended", now: now)
    }

    private func rescue(leasesWhere condition: String, _ arguments: [SQLiteValue?], reason: String,
                        now: Int) throws -> RescueReport {
        let clearLease = "lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, instance_id = NULL"
        let nowArgument = SQLiteValue.integer(now)
        var report = RescueReport()
        report.cancelled = try connection.query("""
            UPDATE jobs SET status = 'cancelled', finished_at = ?2, \(clearLease)
            WHERE status = 'cancelling' AND \(condition) RETURNING id
            """, arguments + [nowArgument]) { $0.text(0) }
        report.failed = try connection.query("""
            UPDATE jobs SET status = 'failed', finished_at = ?2, error_code = 'max_attempts_exceeded',
                   error_message = 'attempt ' || (attempt - attempt_offset) || ' of ' || max_attempts
                                   || ' ended without a result (' || ?3 || ', worker ' || lease_owner || ')',
                   \(clearLease)
            WHERE status = 'running' AND \(condition) AND attempt - attempt_offset >= max_attempts RETURNING id
            """, arguments + [nowArgument, .text(reason)]) { $0.text(0) }
        report.requeued = try connection.query("""
            UPDATE jobs SET status = 'queued', \(clearLease) WHERE status = 'running' AND \(condition) RETURNING id
            """, arguments) { $0.text(0) }
        let rescued = [(report.cancelled, EventLevel.warning, "cancelled"), (report.failed, .error, "failed"),
                       (report.requeued, .warning, "requeued")]
        for (ids, level, outcome) in rescued {
            for id in ids {
                try insertEvent(NewEvent(jobID: id, level: level, type: "rescued", message: "\(reason); \(outcome)"),
                                now: now)
            }
        }
        return report
    }
}

/// Runs `rescueExpiredLeases` on a timer (every lease/2 is a good interval). `runOnce` is the
/// single pass, for tests and for startup.
public final class LeaseRescuer: @unchecked Sendable {  // timer is touched only under lock
    private let store: JobStore
    private let clock: @Sendable () -> Int
    private let onReport: @Sendable (RescueReport) -> Void
    private let onError: @Sendable (Error) -> Void
    private let lock = NSLock()
    private var timer: DispatchSourceTimer?

    /// `clock` gives the current Unix time in seconds; `onReport` sees non-empty passes (for logs
    /// and events), `onError` failed ones (the loop keeps going).
    public init(store: JobStore, clock: @escaping @Sendable () -> Int,
                onReport: @escaping @Sendable (RescueReport) -> Void = { _ in },
                onError: @escaping @Sendable (Error) -> Void = { _ in }) {
        self.store = store
        self.clock = clock
        self.onReport = onReport
        self.onError = onError
    }

    /// One pass over the expired leases.
    public func runOnce(now: Int) throws -> RescueReport {
        try store.write { try $0.rescueExpiredLeases(now: now) }
    }

    /// Starts passes every `intervalSeconds` on a background queue until `stop()`.
    public func start(intervalSeconds: Double) {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "unipelt.jobstore.rescuer"))
        timer.schedule(deadline: .now() + intervalSeconds, repeating: intervalSeconds)
        timer.setEventHandler { [self] in
            do {
                let report = try runOnce(now: clock())
                if !report.isEmpty { onReport(report) }
            } catch {
                onError(error)
            }
        }
        lock.lock()
        precondition(self.timer == nil, "LeaseRescuer started twice")
        self.timer = timer
        lock.unlock()
        timer.resume()
    }

    public func stop() {
        lock.lock()
        timer?.cancel()
        timer = nil
        lock.unlock()
    }
}
