// Rows the trainer reports while a job runs: metrics, gate values and checkpoints. Every write is
// fenced by the worker's lease, and every row has a natural key with an UPSERT, so a step that is
// run again after a crash (at-least-once execution) overwrites its rows instead of adding more.

/// The gated PELT submodules of UniPELT: adapter, prefix, and LoRA on the query and value. The raw values are
/// the `gates.submodule` column's, which the schema's CHECK constraint lists too.
public enum GateSubmodule: String, CaseIterable, Sendable {
    case adapter = "A", prefix = "P", loraQuery = "Lq", loraValue = "Lv"

    /// A value read from `gates.submodule`; one this binary does not know (a newer writer, a hand edit) is
    /// an error naming it, not a row that vanishes.
    init(stored value: String) throws {
        guard let submodule = GateSubmodule(rawValue: value) else {
            throw JobStoreError.unknownStoredValue(column: "gates.submodule", value: value)
        }
        self = submodule
    }
}

public struct MetricPoint: Equatable, Sendable {
    public let step: Int
    public let epoch: Double?
    public let name: String
    public let value: Double
    /// Unix time in seconds, fractional.
    public let wallTime: Double
    /// The attempt that wrote it.
    public let attempt: Int

    static let columns = "step, epoch, name, value, wall_time, attempt"

    init(row: Statement) {
        step = row.int(0)
        epoch = row.optionalDouble(1)
        name = row.text(2)
        value = row.double(3)
        wallTime = row.double(4)
        attempt = row.int(5)
    }
}

public struct GateValue: Equatable, Sendable {
    public var layer: Int
    public var submodule: GateSubmodule
    public var value: Double

    public init(layer: Int, submodule: GateSubmodule, value: Double) {
        self.layer = layer
        self.submodule = submodule
        self.value = value
    }
}

public struct GatePoint: Equatable, Sendable {
    public let step: Int
    public let layer: Int
    public let submodule: GateSubmodule
    public let value: Double
    public let attempt: Int

    static let columns = "step, layer, submodule, value, attempt"

    init(row: Statement) throws {
        step = row.int(0)
        layer = row.int(1)
        submodule = try GateSubmodule(stored: row.text(2))
        value = row.double(3)
        attempt = row.int(4)
    }
}

/// A checkpoint file already renamed into place (write tmp, fsync, rename, fsync the directory,
/// then record it: a listed checkpoint is always whole).
public struct NewCheckpoint: Sendable {
    /// Unique per job; recording the same name again replaces the row (e.g. `best`, `last`).
    public var name: String
    public var step: Int
    /// Give every version of a name its own file (e.g. `last-1200.safetensors`): overwriting the
    /// listed file in place would make its row describe another file until the new row commits.
    /// Delete the replaced file only after `recordCheckpoint` returns it.
    public var path: String
    public var bytes: Int
    /// Lowercase hex SHA-256 of the file.
    public var sha256: String
    /// Metrics at this checkpoint as JSON text.
    public var metrics: String?

    public init(name: String, step: Int, path: String, bytes: Int, sha256: String, metrics: String? = nil) {
        self.name = name
        self.step = step
        self.path = path
        self.bytes = bytes
        self.sha256 = sha256
        self.metrics = metrics
    }
}

public struct Checkpoint: Equatable, Sendable {
    public let id: String
    public let jobID: String
    public let name: String
    public let step: Int
    public let path: String
    public let bytes: Int
    public let sha256: String
    public let metrics: String?
    public let createdAt: Int

    static let columns = "id, job_id, name, step, path, bytes, sha256, metrics, created_at"

    init(row: Statement) {
        id = row.text(0)
        jobID = row.text(1)
        name = row.text(2)
        step = row.int(3)
        path = row.text(4)
        bytes = row.int(5)
        sha256 = row.text(6)
        metrics = row.optionalText(7)
        createdAt = row.int(8)
    }
}

extension StoreWriter {
    /// Records the metrics of one step (one transaction per step is what the trainer does) and returns the
    /// job's status, so the worker notices a cancel without a read of its own.
    @discardableResult
    public func recordMetrics(_ lease: Lease, step: Int, epoch: Double?, wallTime: Double,
                              values: [NamedValue]) throws -> JobStatus {
        let status = try fence(lease)
        for metric in values {
            try connection.run("""
                INSERT INTO metrics (job_id, name, step, attempt, epoch, value, wall_time) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (job_id, step, name) DO UPDATE SET
                    attempt = excluded.attempt, epoch = excluded.epoch, value = excluded.value,
                    wall_time = excluded.wall_time
                """, [.text(lease.jobID), .text(metric.name), .integer(step), .integer(lease.attempt),
                      .double(epoch), .real(metric.value), .real(wallTime)])
        }
        return status
    }

    /// Records the gate values of one evaluation.
    public func recordGates(_ lease: Lease, step: Int, values: [GateValue]) throws {
        _ = try fence(lease)
        for gate in values {
            try connection.run("""
                INSERT INTO gates (job_id, step, layer, submodule, attempt, value) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (job_id, step, layer, submodule) DO UPDATE SET
                    attempt = excluded.attempt, value = excluded.value
                """, [.text(lease.jobID), .integer(step), .integer(gate.layer), .text(gate.submodule.rawValue),
                      .integer(lease.attempt), .real(gate.value)])
        }
    }

    /// Records a checkpoint file (already in place) and, if `isBest`, makes it the job's
    /// `best_checkpoint_id`. Recording a name again keeps the checkpoint's id, updates the rest and
    /// returns the path it replaced, which the caller may now delete.
    @discardableResult
    public func recordCheckpoint(_ lease: Lease, _ new: NewCheckpoint, isBest: Bool,
                                 now: Int) throws -> (checkpoint: Checkpoint, replacedPath: String?) {
        _ = try fence(lease)
        let previousPath = try connection.queryOne("SELECT path FROM checkpoints WHERE job_id = ? AND name = ?",
                                                   [.text(lease.jobID), .text(new.name)]) { $0.text(0) }
        guard let checkpoint = try connection.queryOne("""
            INSERT INTO checkpoints (id, job_id, name, step, path, bytes, sha256, metrics, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (job_id, name) DO UPDATE SET
                step = excluded.step, path = excluded.path, bytes = excluded.bytes, sha256 = excluded.sha256,
                metrics = excluded.metrics, created_at = excluded.created_at
            RETURNING \(Checkpoint.columns)
            """, [.text(newID("ckpt")), .text(lease.jobID), .text(new.name), .integer(new.step), .text(new.path),
                  .integer(new.bytes), .text(new.sha256), .string(new.metrics), .integer(now)], Checkpoint.init(row:))
        else { preconditionFailure("INSERT … RETURNING returned no row") }
        if isBest {
            try connection.run("UPDATE jobs SET best_checkpoint_id = ? WHERE id = ?",
                               [.text(checkpoint.id), .text(lease.jobID)])
        }
        return (checkpoint, previousPath == new.path ? nil : previousPath)
    }

    /// Removes the job's checkpoint row named `name` (never the best one) and returns its path, which the
    /// caller deletes after the transaction commits; nil when there is no such row.
    public func dropCheckpoint(_ lease: Lease, name: String) throws -> String? {
        _ = try fence(lease)
        return try connection.queryOne("""
            DELETE FROM checkpoints WHERE job_id = ? AND name = ?
                AND id IS NOT (SELECT best_checkpoint_id FROM jobs WHERE id = ?)
            RETURNING path
            """, [.text(lease.jobID), .text(name), .text(lease.jobID)]) { $0.text(0) }
    }
}

extension StoreReader {
    /// The checkpoints of a job, by step.
    public func checkpoints(jobID: String) throws -> [Checkpoint] {
        try requireJob(jobID)
        return try connection.query("SELECT \(Checkpoint.columns) FROM checkpoints WHERE job_id = ? ORDER BY step, seq",
                                    [.text(jobID)], Checkpoint.init(row:))
    }

    /// One checkpoint of a job; `notFound` if the job has no checkpoint with that id.
    public func checkpoint(id: String, jobID: String) throws -> Checkpoint {
        guard let checkpoint = try connection.queryOne(
            "SELECT \(Checkpoint.columns) FROM checkpoints WHERE id = ? AND job_id = ?",
            [.text(id), .text(jobID)], Checkpoint.init(row:)) else {
            throw JobStoreError.notFound(.checkpoint, id: id)
        }
        return checkpoint
    }
}
