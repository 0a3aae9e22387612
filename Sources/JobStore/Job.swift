// A job: one training run of one grid cell, and the inputs to create one.

public enum JobStatus: String, CaseIterable, Sendable {
    case queued, running, cancelling, succeeded, failed, cancelled

    public var isTerminal: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// The K of K-shot training: a number of examples per class, or the whole training set.
public enum KShot: Hashable, Sendable, CustomStringConvertible {
    case examples(Int)
    case all

    /// How it is stored: the number, or "all".
    public var description: String {
        switch self {
        case .examples(let count): return String(count)
        case .all: return "all"
        }
    }

    init(stored: String) {
        self = Int(stored).map(KShot.examples) ?? .all
    }
}

/// What a new job is. The store keeps `spec` as opaque JSON text and the other fields as columns
/// to filter and group on.
public struct NewJob: Sendable {
    /// The cell's deterministic key, unique within its sweep (e.g. `rte/K=100/seed=1/unipelt-apl`).
    public var cellKey: String
    public var task: String
    public var k: KShot
    public var seed: Int
    public var method: String
    /// The hyperparameter part of the cell key when a hyperparameter axis varies, else "". Results
    /// are aggregated per (task, K, method, variant).
    public var variant: String
    /// The full job spec as JSON text.
    public var spec: String
    public var maxAttempts: Int
    /// The estimated work of the job (any unit, the same for every job): within a sweep, workers claim the
    /// largest first.
    public var expectedCost: Double

    public init(cellKey: String, task: String, k: KShot, seed: Int, method: String, variant: String = "",
                spec: String, maxAttempts: Int = 3, expectedCost: Double = 0) {
        self.cellKey = cellKey
        self.task = task
        self.k = k
        self.seed = seed
        self.method = method
        self.variant = variant
        self.spec = spec
        self.maxAttempts = maxAttempts
        self.expectedCost = expectedCost
    }
}

public struct JobProgress: Equatable, Sendable, Codable {
    public var step: Int
    public var totalSteps: Int?
    public var epoch: Double?
    public var etaSeconds: Int?

    public init(step: Int, totalSteps: Int? = nil, epoch: Double? = nil, etaSeconds: Int? = nil) {
        self.step = step
        self.totalSteps = totalSteps
        self.epoch = epoch
        self.etaSeconds = etaSeconds
    }
}

public struct NamedValue: Equatable, Sendable, Codable {
    public var name: String
    public var value: Double

    public init(name: String, value: Double) {
        self.name = name
        self.value = value
    }
}

/// Why a job failed: a stable code (e.g. `trainer_nan_loss`, `max_attempts_exceeded`) and a message.
public struct JobFailure: Equatable, Sendable, Codable {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

public struct Job: Equatable, Sendable {
    public let id: String
    public let sweepID: String?
    public let cellKey: String
    public let spec: String
    public let task: String
    public let k: KShot
    public let seed: Int
    public let method: String
    public let variant: String
    public let status: JobStatus
    /// How many times the job was claimed (1 during its first run).
    public let attempt: Int
    public let maxAttempts: Int
    /// The worker holding the lease while running or cancelling.
    public let leaseOwner: String?
    public let leaseExpiresAt: Int?
    public let createdAt: Int
    public let startedAt: Int?
    public let finishedAt: Int?
    public let progress: JobProgress?
    /// The best validation metric so far, as reported by the worker.
    public let bestMetric: NamedValue?
    /// The result JSON of a succeeded job.
    public let result: String?
    public let error: JobFailure?
    public let bestCheckpointID: String?
    /// Retried from scratch: the worker must discard earlier checkpoint files before it trains.
    public let startsFresh: Bool

    /// The columns `init(row:)` reads, in order; also the RETURNING list of claims.
    static let columns = """
        id, sweep_id, cell_key, spec, task, k, seed, method, variant, status, attempt, max_attempts,
        lease_owner, lease_expires_at, created_at, started_at, finished_at,
        progress_step, progress_total_steps, progress_epoch, progress_eta_seconds,
        best_metric_name, best_metric_value, result, error_code, error_message, best_checkpoint_id, start_fresh
        """

    /// How many columns `columns` lists: a claim's RETURNING adds its own after them.
    static let columnCount: Int32 = 28

    init(row: Statement) {
        id = row.text(0)
        sweepID = row.optionalText(1)
        cellKey = row.text(2)
        spec = row.text(3)
        task = row.text(4)
        k = KShot(stored: row.text(5))
        seed = row.int(6)
        method = row.text(7)
        variant = row.text(8)
        status = JobStatus(rawValue: row.text(9))!  // the CHECK constraint admits only these
        attempt = row.int(10)
        maxAttempts = row.int(11)
        leaseOwner = row.optionalText(12)
        leaseExpiresAt = row.optionalInt(13)
        createdAt = row.int(14)
        startedAt = row.optionalInt(15)
        finishedAt = row.optionalInt(16)
        progress = row.optionalInt(17).map {
            JobProgress(step: $0, totalSteps: row.optionalInt(18), epoch: row.optionalDouble(19),
                        etaSeconds: row.optionalInt(20))
        }
        bestMetric = row.optionalText(21).map { NamedValue(name: $0, value: row.double(22)) }
        result = row.optionalText(23)
        error = row.optionalText(24).map { JobFailure(code: $0, message: row.optionalText(25) ?? "") }
        bestCheckpointID = row.optionalText(26)
        startsFresh = row.int(27) != 0
    }
}

/// A claimed job and the lease that fences the worker's writes to it.
public struct Lease: Equatable, Sendable {
    public let jobID: String
    public let token: String
    public let attempt: Int

    /// A lease as a remote worker presents it back to the service (the fence checks the token).
    public init(jobID: String, token: String, attempt: Int) {
        self.jobID = jobID
        self.token = token
        self.attempt = attempt
    }
}

public struct ClaimedJob: Equatable, Sendable {
    public let job: Job
    public let lease: Lease

    /// A row of `Job.columns` followed by the job's `lease_token`.
    init(leasedRow row: Statement) {
        job = Job(row: row)
        lease = Lease(jobID: job.id, token: row.text(Job.columnCount), attempt: job.attempt)
    }
}

/// What a heartbeat tells the worker.
public enum HeartbeatReply: Equatable, Sendable {
    case keepRunning
    /// The job is being cancelled: stop, then call `confirmCancelled`.
    case cancelRequested
}
