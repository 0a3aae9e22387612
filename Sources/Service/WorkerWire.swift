import Foundation
import JobStore

/// The messages between a pull worker (`unipelt worker`) and the service's worker endpoints, JSON with
/// snake_case keys. A leased request names its lease in two headers; every leased reply is the job's status.
/// Progress, metric values and failures travel as JobStore's own `JobProgress`, `NamedValue` and `JobFailure`.
enum WorkerWire {
    static let leaseTokenHeader = "X-Lease-Token"
    static let leaseAttemptHeader = "X-Lease-Attempt"
    static let checksumHeader = "X-Checksum-SHA256"

    static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = .sortedKeys
        return Array(try encoder.encode(value))
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(type, from: Data(bytes))
    }

    struct ClaimRequest: Codable {
        /// Who runs the job, for the `claimed` event: host, process, and the Slurm job when there is one.
        var owner: String
        /// The Slurm job the worker runs as (`12_3` for an array task), recorded on the job it claims.
        var slurmJob: String?
        /// The worker's random name for this claim, sent again when it retries a claim whose reply it never got:
        /// the service then answers with the job that claim leased. Absent from workers before it existed.
        var claimId: String? = nil
    }

    struct ClaimReply: Codable {
        /// Nil when no job is waiting.
        var assignment: Assignment?
    }

    /// A claimed job with its lease and what the attempt needs to run it anywhere.
    struct Assignment: Codable {
        var jobId: String
        var cellKey: String
        /// The stored job spec (JSON text).
        var spec: String
        var startsFresh: Bool
        var attempt: Int
        var leaseToken: String
        /// The model a spec's `"model": "default"` names on the service.
        var defaultModel: String
        /// The job's `last` checkpoint to resume from, when an earlier attempt left one.
        var resume: CheckpointReference?
        var heartbeatSeconds: Int
        var checkpointEverySeconds: Int
    }

    struct CheckpointReference: Codable {
        var id: String
        var sha256: String
        var bytes: Int
    }

    struct Heartbeat: Codable {
        var progress: JobProgress?
        var bestMetric: NamedValue?
    }

    struct Gate: Codable {
        var layer: Int
        /// `A`, `P`, `Lq` or `Lv`.
        var module: String
        var value: Double
    }

    struct Metrics: Codable {
        var step: Int
        var epoch: Double?
        var wallTime: Double
        var values: [NamedValue]
        var gates: [Gate]
    }

    struct Event: Codable {
        var type: String
        var level: String
        var message: String
        var data: String?
    }

    struct Finish: Codable {
        /// The trainer's result as JSON text.
        var result: String
    }

    struct Requeue: Codable {
        var reason: String
    }

    struct ModelFile: Codable {
        var name: String
        var bytes: Int
        var sha256: String
    }

    struct ModelFiles: Codable {
        /// The folder name (`default` resolved).
        var model: String
        var files: [ModelFile]
    }

    struct StatusReply: Codable {
        var status: String
    }
}
