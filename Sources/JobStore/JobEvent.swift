// The typed event log of a job: lifecycle events the store writes itself (claimed, requeued,
// rescued, failed…) and whatever the service or the worker appends.

public enum EventLevel: String, Sendable {
    case debug, info, warning, error
}

public struct NewEvent: Sendable {
    public var jobID: String
    public var level: EventLevel
    /// A stable word for machines (`claimed`, `checkpoint_saved`, `eval`…).
    public var type: String
    public var message: String
    /// Extra fields as JSON text.
    public var data: String?

    public init(jobID: String, level: EventLevel = .info, type: String, message: String, data: String? = nil) {
        self.jobID = jobID
        self.level = level
        self.type = type
        self.message = message
        self.data = data
    }
}

public struct JobEvent: Equatable, Sendable {
    public let id: String
    public let jobID: String
    public let level: EventLevel
    public let type: String
    public let message: String
    public let data: String?
    public let createdAt: Int
}

// In an extension, so that the struct keeps its synthesized memberwise init (`insertEvent` builds one).
extension JobEvent {
    static let columns = "id, job_id, level, type, message, data, created_at"

    init(row: Statement) {
        id = row.text(0)
        jobID = row.text(1)
        level = EventLevel(rawValue: row.text(2))!  // CHECK constraint
        type = row.text(3)
        message = row.text(4)
        data = row.optionalText(5)
        createdAt = row.int(6)
    }
}

extension StoreWriter {
    /// Appends an event from the service (e.g. "cancel requested by user"); not fenced.
    @discardableResult
    public func appendEvent(_ event: NewEvent, now: Int) throws -> JobEvent {
        try requireJob(event.jobID)
        return try insertEvent(event, now: now)
    }

    /// Inserts an event for a job known to exist (lifecycle events of the queue operations).
    @discardableResult
    func insertEvent(_ event: NewEvent, now: Int) throws -> JobEvent {
        let id = newID("evt")
        try connection.run("""
            INSERT INTO events (id, job_id, level, type, message, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, [.text(id), .text(event.jobID), .text(event.level.rawValue), .text(event.type),
                  .text(event.message), .string(event.data), .integer(now)])
        return JobEvent(id: id, jobID: event.jobID, level: event.level, type: event.type, message: event.message,
                        data: event.data, createdAt: now)
    }

    /// Appends an event from the worker holding `lease`; throws `leaseLost` if it no longer does.
    @discardableResult
    public func appendEvent(_ event: NewEvent, lease: Lease, now: Int) throws -> JobEvent {
        precondition(event.jobID == lease.jobID, "event for \(event.jobID) under the lease of \(lease.jobID)")
        _ = try fence(lease)
        return try appendEvent(event, now: now)
    }
}

extension StoreReader {
    /// Events of a job, oldest first, after the event `after` (exclusive).
    public func events(jobID: String, after: String? = nil, limit: Int) throws -> Page<JobEvent> {
        try requireJob(jobID)
        var afterSeq = 0
        if let after {
            guard let seq = try connection.queryOne("SELECT seq FROM events WHERE id = ? AND job_id = ?",
                                                    [.text(after), .text(jobID)], { $0.int(0) }) else {
                throw JobStoreError.invalidCursor(.event, cursor: after)
            }
            afterSeq = seq
        }
        let rows = try connection.query("""
            SELECT \(JobEvent.columns) FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?
            """, [.text(jobID), .integer(afterSeq), .integer(limit + 1)], JobEvent.init(row:))
        return Page(rows, limit: limit)
    }
}
