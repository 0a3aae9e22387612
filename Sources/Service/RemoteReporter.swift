import Foundation
import JobStore
import Training

/// The reporter of a pull worker: each report is a request to the service's worker endpoints, which apply
/// it with a `StoreReporter` under the same lease. A 409 `lease_lost` becomes `JobStoreError.leaseLost`, so
/// `JobExecution` stops exactly as an in-process worker does.
final class RemoteReporter: JobReporter {
    let lease: Lease
    private let client: ServiceClient
    private var jobPath: String { "v1/jobs/\(lease.jobID)/lease" }

    init(lease: Lease, client: ServiceClient) {
        self.lease = lease
        self.client = client
    }

    func startFresh() throws -> JobStatus { try post("fresh", nil as WorkerWire.Finish?) }

    func heartbeat(progress: JobProgress?, bestMetric: NamedValue?) throws -> JobStatus {
        try post("heartbeat", WorkerWire.Heartbeat(progress: progress, bestMetric: bestMetric))
    }

    func recordMetrics(step: Int, epoch: Double?, wallTime: Double, values: [NamedValue],
                       gates: [GateValue]) throws -> JobStatus {
        try post("metrics", WorkerWire.Metrics(
            step: step, epoch: epoch, wallTime: wallTime, values: values,
            gates: gates.map { WorkerWire.Gate(layer: $0.layer, module: $0.submodule.rawValue, value: $0.value) }))
    }

    func appendEvent(_ event: NewEvent) throws -> JobStatus {
        try post("events", WorkerWire.Event(type: event.type, level: event.level.rawValue, message: event.message,
                                            data: event.data))
    }

    /// Streams the file to the service, which checks its SHA-256 before it lists it.
    func recordCheckpoint(_ record: CheckpointRecord) throws -> JobStatus {
        var query = "step=\(record.step)"
        if let metric = record.metric, metric.isFinite { query += "&metric=\(metric)" }
        return try reply {
            try client.send("PUT", "\(jobPath)/checkpoints/\(record.name)?\(query)",
                            headers: leaseHeaders.merging([WorkerWire.checksumHeader: record.sha256]) { $1 },
                            file: URL(fileURLWithPath: record.path))
        }
    }

    func finish(result: String) throws -> JobStatus { try post("finish", WorkerWire.Finish(result: result)) }

    func fail(_ failure: JobFailure) throws -> JobStatus {
        try post("fail", failure)
    }

    func requeue(reason: String) throws -> JobStatus { try post("requeue", WorkerWire.Requeue(reason: reason)) }

    func confirmCancelled() throws -> JobStatus { try post("cancelled", nil as WorkerWire.Finish?) }

    private var leaseHeaders: [String: String] {
        [WorkerWire.leaseTokenHeader: lease.token, WorkerWire.leaseAttemptHeader: String(lease.attempt)]
    }

    private func post<Message: Encodable>(_ action: String, _ message: Message?) throws -> JobStatus {
        let body = try message.map { Data(try WorkerWire.encode($0)) }
        return try reply { try client.send("POST", "\(jobPath)/\(action)", headers: leaseHeaders, json: body) }
    }

    private func reply(_ request: () throws -> Data) throws -> JobStatus {
        let body: Data
        do { body = try request() } catch let error as ServiceClient.ClientError where error.code == "lease_lost" {
            throw JobStoreError.leaseLost(jobID: lease.jobID)
        }
        let reply = try WorkerWire.decode(WorkerWire.StatusReply.self, from: Array(body))
        guard let status = JobStatus(rawValue: reply.status) else {
            throw ServiceClient.ClientError.refused(status: 200, code: "unknown_status", message: "unknown job status \(reply.status)")
        }
        return status
    }
}
