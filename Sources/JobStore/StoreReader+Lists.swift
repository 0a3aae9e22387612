// Reads of jobs and sweeps for the API: by id, and lists newest first with an `after` cursor.

/// Filters of the job list; nil means any.
public struct JobFilter: Equatable, Sendable {
    public var sweepID: String?
    public var status: JobStatus?
    public var task: String?
    public var method: String?
    /// Only jobs created after this Unix time.
    public var createdAfter: Int?

    public init(sweepID: String? = nil, status: JobStatus? = nil, task: String? = nil, method: String? = nil,
                createdAfter: Int? = nil) {
        self.sweepID = sweepID
        self.status = status
        self.task = task
        self.method = method
        self.createdAfter = createdAfter
    }
}

extension StoreReader {
    public func job(id: String) throws -> Job {
        guard let job = try connection.queryOne("SELECT \(Job.columns) FROM jobs WHERE id = ?", [.text(id)],
                                                Job.init(row:)) else {
            throw JobStoreError.notFound(.job, id: id)
        }
        return job
    }

    /// Throws `notFound` unless the job exists (reads of a job's rows answer 404 for unknown jobs).
    func requireJob(_ id: String) throws {
        guard try connection.queryOne("SELECT 1 FROM jobs WHERE id = ?", [.text(id)], { _ in true }) != nil else {
            throw JobStoreError.notFound(.job, id: id)
        }
    }

    /// A sweep with its derived status and counts.
    public func sweep(id: String) throws -> Sweep {
        guard let sweep = try connection.queryOne("SELECT \(Sweep.columns) FROM sweep_overview WHERE id = ?",
                                                  [.text(id)], Sweep.init(row:)) else {
            throw JobStoreError.notFound(.sweep, id: id)
        }
        return sweep
    }

    /// Jobs matching `filter`, newest first (creation time, then creation order), after the job
    /// `after` (exclusive). The caller validates `limit`.
    public func jobs(_ filter: JobFilter = JobFilter(), after: String? = nil, limit: Int) throws -> Page<Job> {
        var conditions: [String] = []
        var arguments: [SQLiteValue?] = []
        func add(_ condition: String, _ value: SQLiteValue?) {
            if let value {
                conditions.append(condition)
                arguments.append(value)
            }
        }
        add("sweep_id = ?", .string(filter.sweepID))
        add("status = ?", .string(filter.status?.rawValue))
        add("task = ?", .string(filter.task))
        add("method = ?", .string(filter.method))
        add("created_at > ?", .int(filter.createdAfter))
        if let after {
            conditions.append("(created_at, seq) < (SELECT created_at, seq FROM jobs WHERE id = ?)")
            arguments.append(.text(after))
            try requireCursor(after, table: "jobs", object: .job)
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let rows = try connection.query("""
            SELECT \(Job.columns) FROM jobs \(whereClause) ORDER BY created_at DESC, seq DESC LIMIT ?
            """, arguments + [.integer(limit + 1)], Job.init(row:))
        return Page(rows, limit: limit)
    }

    /// Sweeps, newest first, optionally only those with `status`, after the sweep `after` (exclusive).
    public func sweeps(status: SweepStatus? = nil, after: String? = nil, limit: Int) throws -> Page<Sweep> {
        if let after { try requireCursor(after, table: "sweeps", object: .sweep) }
        let rows = try connection.query("""
            SELECT \(Sweep.columns) FROM sweep_overview
            WHERE (?1 IS NULL OR status = ?1)
              AND (?2 IS NULL OR (created_at, seq) < (SELECT created_at, seq FROM sweeps WHERE id = ?2))
            ORDER BY created_at DESC, seq DESC LIMIT ?3
            """, [.string(status?.rawValue), .string(after), .integer(limit + 1)], Sweep.init(row:))
        return Page(rows, limit: limit)
    }

    /// Jobs by status over the whole store (every status present, zero included), for queue-depth
    /// limits and the /metrics gauges.
    public func jobCountsByStatus() throws -> [JobStatus: Int] {
        var counts = Dictionary(uniqueKeysWithValues: JobStatus.allCases.map { ($0, 0) })
        for (status, count) in try connection.query("SELECT status, count(*) FROM jobs GROUP BY status", [], {
            (JobStatus(rawValue: $0.text(0))!, $0.int(1))  // CHECK constraint
        }) {
            counts[status] = count
        }
        return counts
    }

    /// An `after` cursor must name an existing object of the listed kind.
    private func requireCursor(_ id: String, table: String, object: StoreObject) throws {
        guard try connection.queryOne("SELECT 1 FROM \(table) WHERE id = ?", [.text(id)], { _ in true }) != nil else {
            throw JobStoreError.invalidCursor(object, cursor: id)
        }
    }
}
