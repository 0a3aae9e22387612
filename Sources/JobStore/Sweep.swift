// A sweep: a grid of jobs created together, with its derived status and counts.

/// What the user asked the sweep to do. Its status is derived from this and the jobs.
public enum SweepState: String, Sendable {
    case active, paused, cancelled
}

public enum SweepStatus: String, CaseIterable, Sendable {
    case active, paused, cancelling, cancelled
    /// Every job is terminal and the sweep was not cancelled.
    case completed
}

public struct NewSweep: Sendable {
    public var name: String
    /// The request body that made the sweep, as JSON text.
    public var spec: String
    /// User metadata, as JSON text.
    public var metadata: String
    public var maxConcurrency: Int?

    public init(name: String, spec: String, metadata: String = "{}", maxConcurrency: Int? = nil) {
        self.name = name
        self.spec = spec
        self.metadata = metadata
        self.maxConcurrency = maxConcurrency
    }
}

public struct Sweep: Equatable, Sendable {
    public let id: String
    public let name: String
    public let spec: String
    public let metadata: String
    public let state: SweepState
    public let status: SweepStatus
    public let maxConcurrency: Int?
    /// Jobs by status; every status is present, zero included.
    public let counts: [JobStatus: Int]
    public let jobCount: Int
    public let createdAt: Int
    public let updatedAt: Int

    /// Columns of the view sweep_overview that `init(row:)` reads, in order.
    static let columns = """
        id, name, spec, metadata, state, status, max_concurrency, created_at, updated_at,
        queued, running, cancelling, succeeded, failed, cancelled, total
        """

    init(row: Statement) {
        id = row.text(0)
        name = row.text(1)
        spec = row.text(2)
        metadata = row.text(3)
        state = SweepState(rawValue: row.text(4))!  // CHECK constraint
        status = SweepStatus(rawValue: row.text(5))!  // computed by the view from the same words
        maxConcurrency = row.optionalInt(6)
        createdAt = row.int(7)
        updatedAt = row.int(8)
        var counts: [JobStatus: Int] = [:]
        for (offset, status) in JobStatus.allCases.enumerated() {  // the view's count columns, in this order
            counts[status] = row.int(Int32(9 + offset))
        }
        self.counts = counts
        jobCount = row.int(15)
    }
}
