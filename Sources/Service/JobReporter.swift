import Foundation
import JobStore
import Training

/// What one attempt at a job reports while it trains. Every write is fenced by the attempt's lease: once
/// the lease is gone it throws `JobStoreError.leaseLost` and changes nothing. Every write answers with the
/// job's status, so a cancel is noticed at the next step without a read of its own.
///
/// `StoreReporter` writes to the job store of this process; `RemoteReporter` sends the same calls to the
/// service from a pull worker, whose endpoints apply them with a `StoreReporter`.
protocol JobReporter: AnyObject {
    var lease: Lease { get }
    /// A retry from scratch: the job's earlier checkpoint files go before it trains.
    func startFresh() throws -> JobStatus
    /// Renews the lease, with the progress and best metric when known.
    func heartbeat(progress: JobProgress?, bestMetric: NamedValue?) throws -> JobStatus
    /// The metrics of one step or evaluation, and the gate values of an evaluation.
    func recordMetrics(step: Int, epoch: Double?, wallTime: Double, values: [NamedValue],
                       gates: [GateValue]) throws -> JobStatus
    func appendEvent(_ event: NewEvent) throws -> JobStatus
    /// The trainer's checkpoint file at `record.path`, which it rewrites later: the reporter keeps a copy of
    /// this version for the checkpoint's row.
    func recordCheckpoint(_ record: CheckpointRecord) throws -> JobStatus
    func finish(result: String) throws -> JobStatus
    func fail(_ failure: JobFailure) throws -> JobStatus
    /// Hands the job back unfinished (shutdown, preemption): queued again, resuming from its `last` checkpoint.
    func requeue(reason: String) throws -> JobStatus
    func confirmCancelled() throws -> JobStatus
}

/// The reporter that writes to the job store in this process: for the in-process workers, and for the
/// worker endpoints applying a remote worker's reports.
final class StoreReporter: JobReporter {
    let lease: Lease
    private let store: JobStore
    private let files: CheckpointFolders
    private let leaseSeconds: Int
    private let keepLastCheckpoint: Bool
    private let clock: @Sendable () -> Int

    init(lease: Lease, store: JobStore, files: CheckpointFolders, leaseSeconds: Int, keepLastCheckpoint: Bool,
         clock: @escaping @Sendable () -> Int) {
        self.lease = lease
        self.store = store
        self.files = files
        self.leaseSeconds = leaseSeconds
        self.keepLastCheckpoint = keepLastCheckpoint
        self.clock = clock
    }

    func startFresh() throws -> JobStatus {
        try store.write { writer in
            try writer.markStartedFresh(lease)
            // Inside the fenced transaction: a worker that lost the lease deletes nothing.
            try files.remove(jobIDs: [lease.jobID])
            return try writer.fence(lease)
        }
    }

    func heartbeat(progress: JobProgress?, bestMetric: NamedValue?) throws -> JobStatus {
        let reply = try store.write {
            try $0.heartbeat(lease, progress: progress, bestMetric: bestMetric, leaseSeconds: leaseSeconds, now: clock())
        }
        return reply == .cancelRequested ? .cancelling : .running
    }

    func recordMetrics(step: Int, epoch: Double?, wallTime: Double, values: [NamedValue],
                       gates: [GateValue]) throws -> JobStatus {
        try store.write { writer in
            let status = try writer.recordMetrics(lease, step: step, epoch: epoch, wallTime: wallTime, values: values)
            if !gates.isEmpty { try writer.recordGates(lease, step: step, values: gates) }
            return status
        }
    }

    func appendEvent(_ event: NewEvent) throws -> JobStatus {
        try store.write { writer in
            try writer.appendEvent(event, lease: lease, now: clock())
            return try writer.fence(lease)
        }
    }

    func recordCheckpoint(_ record: CheckpointRecord) throws -> JobStatus {
        let snapshot = try files.snapshot(record, jobID: lease.jobID, attempt: lease.attempt)
        return try recordInstalled(NewCheckpoint(name: record.name, step: record.step, path: snapshot, bytes: record.bytes,
                                                 sha256: record.sha256, metrics: Self.metricsJSON(record.metric)))
    }

    /// Records a checkpoint file already whole in the job's folder; the file it replaces goes once the row
    /// commits, and `<name>.safetensors` then names the new file (what a local attempt resumes from).
    func recordInstalled(_ checkpoint: NewCheckpoint) throws -> JobStatus {
        let status: JobStatus, replaced: String?
        do {
            (status, replaced) = try store.write { writer in
                let replaced = try writer.recordCheckpoint(lease, checkpoint, isBest: checkpoint.name == "best",
                                                           now: clock()).replacedPath
                return (try writer.fence(lease), replaced)
            }
        } catch {
            // Not recorded (a lost lease, a failed write): no row will ever name the file.
            try? FileManager.default.removeItem(atPath: checkpoint.path)
            throw error
        }
        if let replaced, replaced != checkpoint.path { try? FileManager.default.removeItem(atPath: replaced) }
        try files.link(checkpoint.path, as: checkpoint.name, jobID: lease.jobID)
        return status
    }

    func finish(result: String) throws -> JobStatus {
        // Rows first, in the finishing transaction; files after it commits (a crash in between leaves only an
        // unlisted file, never a row without its file).
        let (job, dropped) = try store.write { writer in
            let dropped = keepLastCheckpoint ? nil : try writer.dropCheckpoint(lease, name: "last")
            return (try writer.finish(lease, result: result, now: clock()), dropped)
        }
        if let dropped {
            for path in [dropped, files.path(jobID: lease.jobID, name: "last")] {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        return job.status
    }

    func fail(_ failure: JobFailure) throws -> JobStatus {
        try store.write { try $0.fail(lease, failure: failure, now: clock()) }.status
    }

    func requeue(reason: String) throws -> JobStatus {
        try store.write { try $0.requeue(lease, reason: reason, now: clock()) }.status
    }

    func confirmCancelled() throws -> JobStatus {
        try store.write { try $0.confirmCancelled(lease, now: clock()) }.status
    }

    /// A checkpoint's metrics column: the dev metric of the state it holds.
    static func metricsJSON(_ metric: Double?) -> String? {
        metric.map { JSONValue.object([("valid_metric", .number($0))]).serialized() }
    }
}
