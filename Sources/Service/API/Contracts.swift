import Foundation
import JobStore

// Every object shape the /v1 API sends: each has "object", ids are prefixed
// strings, times integer Unix seconds. Property names are the wire names. Absent values are sent
// as null (`Nullable`), so clients can rely on every key being there.

/// Serialises API bodies: sorted keys (stable output for tests and diffs), slashes unescaped.
enum APIJSON {
    static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    /// User metadata (string values) as a JSON object.
    static func metadata(_ pairs: [(key: String, value: String)]) -> JSONValue {
        .object(pairs.map { ($0.key, .string($0.value)) })
    }

    /// A JSON text column of the store (written by this service), parsed for embedding in a response.
    static func parseStored(_ text: String) throws -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }
}

/// An optional value that is encoded as `null` instead of being left out.
struct Nullable<Wrapped: Encodable>: Encodable {
    let value: Wrapped?

    init(_ value: Wrapped?) { self.value = value }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value { try container.encode(value) } else { try container.encodeNil() }
    }
}

/// A key known only at run time (metric names, metadata keys).
struct DynamicKey: CodingKey {
    let stringValue: String
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }
}

/// Lets response objects embed JSON the store holds (results, metadata, event data); store columns are
/// written with `serialized()`.
extension JSONValue: Encodable {
    public func encode(to encoder: Encoder) throws {
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .bool(let flag):
            var container = encoder.singleValueContainer()
            try container.encode(flag)
        case .number(let number):
            var container = encoder.singleValueContainer()
            // Integral values print as integers (16, not 16.0); exact up to 2^53.
            if number.rounded() == number, abs(number) < 9_007_199_254_740_992 {
                try container.encode(Int64(number))
            } else {
                try container.encode(number)
            }
        case .string(let string):
            var container = encoder.singleValueContainer()
            try container.encode(string)
        case .array(let elements):
            var container = encoder.unkeyedContainer()
            for element in elements { try container.encode(element) }
        case .object(let members):
            var container = encoder.container(keyedBy: DynamicKey.self)
            for member in members { try container.encode(member.value, forKey: DynamicKey(member.key)) }
        }
    }
}

/// `{"object":"list","data":[…],"first_id","last_id","has_more"}`: one page of a list, cursors for `after`.
struct ListEnvelope<Item: Encodable & Identified>: Encodable {
    let object = "list"
    let data: [Item]
    let first_id: Nullable<String>
    let last_id: Nullable<String>
    let has_more: Bool

    init(_ data: [Item], hasMore: Bool) {
        self.data = data
        first_id = Nullable(data.first?.id)
        last_id = Nullable(data.last?.id)
        has_more = hasMore
    }
}

/// An object with an `id`, which list envelopes name as their first and last.
protocol Identified { var id: String { get } }

/// Metric and gate pages: ascending by step, with the cursor of the next page.
struct StepListEnvelope<Item: Encodable>: Encodable {
    let object = "list"
    let data: [Item]
    let has_more: Bool
    let next_after_step: Nullable<Int>
}

// MARK: Sweeps

struct SweepObject: Encodable, Identified {
    struct Progress: Encodable {
        /// Jobs in a terminal status.
        let finished: Int
        let total: Int
        let fraction: Double
    }

    let object = "sweep"
    let id: String
    let name: String
    let status: String
    let job_count: Int
    let counts: [String: Int]
    let progress: Progress
    let max_concurrency: Nullable<Int>
    let metadata: JSONValue
    let created_at: Int
    let updated_at: Int
    /// The first page of the sweep's jobs; sent by `POST /v1/sweeps` only.
    let jobs: ListEnvelope<JobObject>?

    init(_ sweep: Sweep, jobs: ListEnvelope<JobObject>? = nil) throws {
        id = sweep.id
        name = sweep.name
        status = sweep.status.rawValue
        job_count = sweep.jobCount
        counts = Dictionary(uniqueKeysWithValues: sweep.counts.map { ($0.key.rawValue, $0.value) })
        let finished = sweep.counts.filter { $0.key.isTerminal }.map(\.value).reduce(0, +)
        progress = Progress(finished: finished, total: sweep.jobCount,
                            fraction: sweep.jobCount == 0 ? 1 : Double(finished) / Double(sweep.jobCount))
        max_concurrency = Nullable(sweep.maxConcurrency)
        metadata = try APIJSON.parseStored(sweep.metadata)
        created_at = sweep.createdAt
        updated_at = sweep.updatedAt
        self.jobs = jobs
    }
}

/// `POST /v1/sweeps` with `"dry_run": true`: the expansion, nothing stored.
struct SweepDryRunObject: Encodable {
    let object = "sweep.dry_run"
    let job_count: Int
    let keys: [String]
}

// MARK: Jobs

struct JobObject: Encodable, Identified {
    struct Progress: Encodable {
        let step: Int
        let total_steps: Nullable<Int>
        let epoch: Nullable<Double>
        let eta_seconds: Nullable<Int>
    }

    struct Failure: Encodable {
        let code: String
        let message: String
        let param: Nullable<String>
    }

    struct Metric: Encodable {
        let name: String
        let value: Double
    }

    let object = "job"
    let id: String
    let sweep_id: Nullable<String>
    /// The cell key, e.g. `rte/K=100/seed=1/unipelt-apl`.
    let key: String
    let status: String
    let task: String
    let k: JSONValue
    let seed: Int
    let method: String
    let model: JSONValue
    let hyperparameters: JSONValue
    let attempt: Int
    let max_attempts: Int
    let created_at: Int
    let started_at: Nullable<Int>
    let finished_at: Nullable<Int>
    let progress: Nullable<Progress>
    let error: Nullable<Failure>
    let best_metric: Nullable<Metric>
    let result: JSONValue
    let best_checkpoint_id: Nullable<String>
    /// Who holds the lease while it runs: the service's own worker, or a pull worker's host, process and
    /// Slurm array task.
    let worker: Nullable<String>
    /// The Slurm jobs (`12_3`) its attempts ran in, oldest first; empty when it never ran in Slurm.
    let slurm_jobs: [String]

    /// `slurmJobs`: from `SlurmEvents.slurmJobs`, or empty for a job just created.
    init(_ job: Job, slurmJobs: [String]) throws {
        let spec = try APIJSON.parseStored(job.spec)
        id = job.id
        sweep_id = Nullable(job.sweepID)
        key = job.cellKey
        status = job.status.rawValue
        task = job.task
        switch job.k {
        case .examples(let count): k = .number(Double(count))
        case .all: k = .string("all")
        }
        seed = job.seed
        method = job.method
        model = spec["model"] ?? .null
        hyperparameters = spec["hyperparameters"] ?? .object([])
        attempt = job.attempt
        max_attempts = job.maxAttempts
        created_at = job.createdAt
        started_at = Nullable(job.startedAt)
        finished_at = Nullable(job.finishedAt)
        progress = Nullable(job.progress.map {
            Progress(step: $0.step, total_steps: Nullable($0.totalSteps), epoch: Nullable($0.epoch),
                     eta_seconds: Nullable($0.etaSeconds))
        })
        error = Nullable(job.error.map { Failure(code: $0.code, message: $0.message, param: Nullable(nil)) })
        best_metric = Nullable(job.bestMetric.map { Metric(name: $0.name, value: $0.value) })
        result = try job.result.map(APIJSON.parseStored) ?? .null
        best_checkpoint_id = Nullable(job.bestCheckpointID)
        worker = Nullable(job.leaseOwner)
        slurm_jobs = slurmJobs
    }

    /// Job objects for jobs read through `reader`, with their Slurm jobs in one query.
    static func all(_ jobs: [Job], in reader: StoreReader) throws -> [JobObject] {
        let slurmJobs = try SlurmEvents.slurmJobs(of: jobs, in: reader)
        return try jobs.map { try JobObject($0, slurmJobs: slurmJobs[$0.id] ?? []) }
    }

    static func one(_ job: Job, in reader: StoreReader) throws -> JobObject { try all([job], in: reader)[0] }
}

// MARK: Job history

struct EventObject: Encodable, Identified {
    let object = "event"
    let id: String
    let job_id: String
    let level: String
    let type: String
    let message: String
    let data: JSONValue
    let created_at: Int

    init(_ event: JobEvent) throws {
        id = event.id
        job_id = event.jobID
        level = event.level.rawValue
        type = event.type
        message = event.message
        data = try event.data.map(APIJSON.parseStored) ?? .null
        created_at = event.createdAt
    }
}

/// All metrics of one step, flattened into one object (the same record a metric stream sends):
/// `{"object":"metric","step":100,"epoch":1,"wall_time":1732312345.12,"train_loss":0.512}`.
struct MetricStepObject: Encodable {
    let step: Int
    let epoch: Double?
    /// The latest wall time of the step's rows.
    let wallTime: Double
    /// Metric name → value, by name.
    let values: [(name: String, value: Double)]

    /// Groups rows (ascending by step, as the store returns them) into one object per step.
    static func grouping(_ points: [MetricPoint]) -> [MetricStepObject] {
        var steps: [MetricStepObject] = []
        for point in points {
            if let last = steps.last, last.step == point.step {
                steps[steps.count - 1] = MetricStepObject(step: last.step, epoch: last.epoch ?? point.epoch,
                                                          wallTime: max(last.wallTime, point.wallTime),
                                                          values: last.values + [(point.name, point.value)])
            } else {
                steps.append(MetricStepObject(step: point.step, epoch: point.epoch, wallTime: point.wallTime,
                                              values: [(point.name, point.value)]))
            }
        }
        return steps
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: DynamicKey.self)
        try container.encode("metric", forKey: DynamicKey("object"))
        try container.encode(step, forKey: DynamicKey("step"))
        try container.encode(Nullable(epoch), forKey: DynamicKey("epoch"))
        try container.encode(wallTime, forKey: DynamicKey("wall_time"))
        for (name, value) in values { try container.encode(value, forKey: DynamicKey(name)) }
    }
}

/// The gate values of one evaluation step.
struct GateStepObject: Encodable {
    struct Value: Encodable {
        let layer: Int
        let module: String
        let value: Double
    }

    let object = "gate"
    let step: Int
    let values: [Value]

    static func grouping(_ points: [GatePoint]) -> [GateStepObject] {
        var steps: [GateStepObject] = []
        for point in points {
            let value = Value(layer: point.layer, module: point.submodule.rawValue, value: point.value)
            if let last = steps.last, last.step == point.step {
                steps[steps.count - 1] = GateStepObject(step: last.step, values: last.values + [value])
            } else {
                steps.append(GateStepObject(step: point.step, values: [value]))
            }
        }
        return steps
    }
}

/// Sent last on a history stream: the job is terminal and everything was sent.
struct StreamEndObject: Encodable {
    let object = "end"
    let status: String
}

// MARK: Checkpoints

struct CheckpointObject: Encodable, Identified {
    let object = "checkpoint"
    let id: String
    let job_id: String
    let name: String
    let step: Int
    let metrics: JSONValue
    let bytes: Int
    let sha256: String
    let is_best: Bool
    let created_at: Int

    init(_ checkpoint: Checkpoint, bestID: String?) throws {
        id = checkpoint.id
        job_id = checkpoint.jobID
        name = checkpoint.name
        step = checkpoint.step
        metrics = try checkpoint.metrics.map(APIJSON.parseStored) ?? .null
        bytes = checkpoint.bytes
        sha256 = checkpoint.sha256
        is_best = checkpoint.id == bestID
        created_at = checkpoint.createdAt
    }
}

// MARK: Ops

struct HealthObject: Encodable {
    let status: String
}

struct ReadinessObject: Encodable {
    let status: String
    let checks: [String: Bool]
    let version: String
}
