import Foundation
import HTTP
import JobStore
import Training

/// What the worker endpoints tell and apply to pull workers; the app sets them from its config.
public struct WorkerEndpointSettings: Sendable {
    public var leaseSeconds = 60
    public var heartbeatSeconds = 10
    public var checkpointEverySeconds = 300
    public var keepLastCheckpoint = false
    public var defaultModel = "minilm-l6"

    public init() {}
}

/// The endpoints of pull workers (`unipelt worker`): claim a job under a lease, then report on it. The
/// service stays the only writer of the job store: each leased report is applied here by a `StoreReporter`,
/// fenced by the lease exactly as an in-process worker's write is (a lost lease is a 409 that changes nothing).
struct WorkerAPI {
    let context: APIContext

    /// Largest checkpoint upload: full fine-tuning of a BERT-base model with its AdamW moments is about 1.3 GB.
    static let maxCheckpointBytes = 2 << 30

    func register(on router: inout Router, _ routes: APIRoutes) {
        router.post("/v1/workers/claim", options: APIRoutes.requiredJSONBody, description: RouteDescription(
            "Claim the next queued job under a lease (pull workers)", tag: "workers"),
            routes.v1 { try claim($0) })
        let leased: [(action: String, summary: String, apply: @Sendable (WorkerAPI, StoreReporter, Request) throws -> JobStatus)] = [
            ("heartbeat", "Renew the lease, with progress", { try $0.heartbeat($1, $2) }),
            ("metrics", "Record a step's or an evaluation's metrics and gates", { try $0.metrics($1, $2) }),
            ("events", "Append an event", { try $0.event($1, $2) }),
            ("fresh", "Discard the checkpoints of a job retried from scratch", { _, reporter, _ in try reporter.startFresh() }),
            ("finish", "End the attempt as succeeded", { try $1.finish(result: try $0.body(WorkerWire.Finish.self, $2).result) }),
            ("fail", "End the attempt as failed", { try $0.fail($1, $2) }),
            ("requeue", "Hand the job back unfinished", { try $1.requeue(reason: try $0.body(WorkerWire.Requeue.self, $2).reason) }),
            ("cancelled", "Confirm a cancellation", { _, reporter, _ in try reporter.confirmCancelled() }),
        ]
        for route in leased {
            router.post("/v1/jobs/{job_id}/lease/\(route.action)", options: APIRoutes.jsonBody,
                        description: RouteDescription(route.summary + " (pull workers)", tag: "workers"),
                        routes.v1 { request in try Self.status(try route.apply(self, try reporter(request), request)) })
        }
        router.add("PUT", "/v1/jobs/{job_id}/lease/checkpoints/{name}",
                   options: RouteOptions(maxBodyBytes: Self.maxCheckpointBytes, bodyRequired: true,
                                         requiredContentType: "application/octet-stream",
                                         bodySink: routes.v1Sink { try receiveCheckpoint($0) }),
                   description: RouteDescription("Upload a checkpoint file (pull workers)",
                                                 query: [("step", "the training step it holds"),
                                                         ("metric", "the dev metric of the state it holds")],
                                                 tag: "workers"),
                   routes.v1 { try uploadCheckpoint($0) })
        router.get("/v1/models/{model}/files", description: RouteDescription(
            "An installed model's files with their sizes and SHA-256 (pull workers fetch a model once)", tag: "workers"),
            routes.v1 { try modelFiles($0) })
        router.get("/v1/models/{model}/files/{file}", description: RouteDescription(
            "Download one file of an installed model", tag: "workers"),
            routes.v1 { try modelFile($0) })
    }

    // MARK: Model files

    /// The folder of an installed model (`default` names the default one); any other name is a 404, so a
    /// path parameter never reaches the file system unchecked.
    private func modelFolder(_ request: Request) throws -> (name: String, folder: String) {
        let settings = context.workerEndpoints
        guard let installation = context.installation else { throw Self.modelNotFound }
        let requested = request.pathParameters["model"] ?? ""
        let name = requested == "default" ? settings.defaultModel : requested
        guard installation.modelFolders().contains(name) else { throw Self.modelNotFound }
        return (name, "\(installation.modelDirectory)/\(name)")
    }

    private static let modelNotFound = APIError(status: 404, type: "not_found_error", code: "model_not_found",
                                                message: "no installed model with this name")

    /// The regular files at the top of a model folder, by name.
    private static func files(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { name in
            var isDirectory: ObjCBool = false
            return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: "\(folder)/\(name)", isDirectory: &isDirectory)
                && !isDirectory.boolValue
        }.sorted()
    }

    private func modelFiles(_ request: Request) throws -> Response {
        let (name, folder) = try modelFolder(request)
        let files = try Self.files(in: folder).map { file -> WorkerWire.ModelFile in
            let path = "\(folder)/\(file)"
            let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            return WorkerWire.ModelFile(name: file, bytes: bytes, sha256: try context.modelChecksums.sha256(ofFileAt: path))
        }
        return .json(bytes: try WorkerWire.encode(WorkerWire.ModelFiles(model: name, files: files)))
    }

    private func modelFile(_ request: Request) throws -> Response {
        let (_, folder) = try modelFolder(request)
        guard let file = request.pathParameters["file"], Self.files(in: folder).contains(file) else {
            throw APIError(status: 404, type: "not_found_error", code: "file_not_found", message: "the model has no such file")
        }
        let path = "\(folder)/\(file)"
        return try Response.file(path: path, checksumSHA256: try context.modelChecksums.sha256(ofFileAt: path), downloadName: file)
    }

    private func claim(_ request: Request) throws -> Response {
        let claim = try body(WorkerWire.ClaimRequest.self, request)
        if let slurmJob = claim.slurmJob, !SlurmEvents.isJobID(slurmJob) {
            throw APIError.invalidValue("slurm_job", "expected a Slurm job id such as 12 or 12_3")
        }
        if let claimID = claim.claimId, claimID.isEmpty || claimID.utf8.count > 100 {
            throw APIError.invalidValue("claim_id", "expected 1 to 100 characters")
        }
        let settings = context.workerEndpoints
        let owner = String(claim.owner.prefix(200))
        guard let claimed = try context.store.write({ writer -> [ClaimedJob] in
            let now = context.now()
            // A claim sent again (its reply was lost) gets the job it leased: nothing new is claimed or recorded.
            if let claimID = claim.claimId,
               let leased = try writer.claimed(claimID: claimID, owner: owner, now: now) {
                return [leased]
            }
            let claimed = try writer.claim(limit: 1, owner: owner, leaseSeconds: settings.leaseSeconds,
                                           now: now, forThisProcess: false, claimID: claim.claimId)
            if let slurmJob = claim.slurmJob, let first = claimed.first {
                try writer.appendEvent(try SlurmEvents.claimed(SlurmEvents.Task(
                    jobID: first.job.id, attempt: first.lease.attempt, slurmJob: slurmJob)), now: now)
            }
            return claimed
        }).first else {
            return .json(bytes: try WorkerWire.encode(WorkerWire.ClaimReply(assignment: nil)))
        }
        let job = claimed.job
        let last = job.startsFresh ? nil : try context.store.read { try $0.checkpoints(jobID: job.id) }
            .first { $0.name == "last" }
        let assignment = WorkerWire.Assignment(
            jobId: job.id, cellKey: job.cellKey, spec: job.spec, startsFresh: job.startsFresh, attempt: claimed.lease.attempt,
            leaseToken: claimed.lease.token, defaultModel: settings.defaultModel,
            resume: last.map { WorkerWire.CheckpointReference(id: $0.id, sha256: $0.sha256, bytes: $0.bytes) },
            heartbeatSeconds: settings.heartbeatSeconds, checkpointEverySeconds: settings.checkpointEverySeconds)
        return .json(bytes: try WorkerWire.encode(WorkerWire.ClaimReply(assignment: assignment)))
    }

    private func heartbeat(_ reporter: StoreReporter, _ request: Request) throws -> JobStatus {
        let beat = try body(WorkerWire.Heartbeat.self, request)
        return try reporter.heartbeat(progress: beat.progress, bestMetric: beat.bestMetric)
    }

    private func metrics(_ reporter: StoreReporter, _ request: Request) throws -> JobStatus {
        let metrics = try body(WorkerWire.Metrics.self, request)
        let gates = try metrics.gates.enumerated().map { index, gate in
            guard let submodule = GateSubmodule(rawValue: gate.module) else {
                throw APIError.invalidValue("gates[\(index)].module", "expected one of "
                                            + GateSubmodule.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return GateValue(layer: gate.layer, submodule: submodule, value: gate.value)
        }
        return try reporter.recordMetrics(step: metrics.step, epoch: metrics.epoch, wallTime: metrics.wallTime,
                                          values: metrics.values, gates: gates)
    }

    private func event(_ reporter: StoreReporter, _ request: Request) throws -> JobStatus {
        let event = try body(WorkerWire.Event.self, request)
        guard let level = EventLevel(rawValue: event.level) else {
            throw APIError.invalidValue("level", "expected debug, info, warning or error")
        }
        return try reporter.appendEvent(NewEvent(jobID: reporter.lease.jobID, level: level, type: event.type,
                                                 message: event.message, data: event.data))
    }

    private func fail(_ reporter: StoreReporter, _ request: Request) throws -> JobStatus {
        let failure = try body(JobFailure.self, request)
        return try reporter.fail(failure)
    }

    /// Where an upload goes as it arrives, decided from the head alone: a request that would be refused
    /// anyway (a lost lease, a bad name or step, no declared checksum) is refused before its body is sent.
    private func receiveCheckpoint(_ request: Request) throws -> any BodySink {
        let upload = try CheckpointUpload(request)
        let reporter = try reporter(request)
        _ = try context.store.write { try $0.fence(reporter.lease) }
        let folder = CheckpointFolders(root: context.checkpointRoot).directory(jobID: reporter.lease.jobID)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return try ChecksummedFileSink(directory: folder, declaredSHA256: upload.declaredSHA256)
    }

    /// The upload arrived whole in a file of its own and its SHA-256 was computed while it was written:
    /// it is checked, then renamed to a name of its own and recorded. A refused lease removes the file again
    /// (`recordInstalled`), so a worker that lost its lease leaves neither a row nor a file behind.
    private func uploadCheckpoint(_ request: Request) throws -> Response {
        let upload = try CheckpointUpload(request)
        let reporter = try reporter(request)
        guard let received = request.bodySink as? ChecksummedFileSink else { preconditionFailure("route without its sink") }
        let path = try received.install(as: CheckpointFolders(root: context.checkpointRoot).newVersionPath(
            jobID: reporter.lease.jobID, name: upload.name, step: upload.step, attempt: reporter.lease.attempt))
        return try Self.status(try reporter.recordInstalled(NewCheckpoint(
            name: upload.name, step: upload.step, path: path, bytes: received.file.byteCount,
            sha256: upload.declaredSHA256, metrics: StoreReporter.metricsJSON(upload.metric))))
    }

    /// What an upload's path, query and headers say about it.
    private struct CheckpointUpload {
        let name: String
        let step: Int
        let metric: Double?
        let declaredSHA256: String

        init(_ request: Request) throws {
            name = try WorkerAPI.checkpointName(request.pathParameters["name"])
            guard let step = try request.query.integer("step", in: 0...Int(Int32.max)) else {
                throw APIError.missingParameter("step")
            }
            self.step = step
            metric = try request.query["metric"].map { text -> Double in
                guard let value = Double(text), value.isFinite else { throw APIError.invalidValue("metric", "expected a number") }
                return value
            }
            guard let declared = request.headers[WorkerWire.checksumHeader] else {
                throw APIError.missingParameter(WorkerWire.checksumHeader)
            }
            declaredSHA256 = declared.lowercased()
        }
    }

    // MARK: Shared parts

    /// The reporter of the lease the request presents, for the job in its path.
    private func reporter(_ request: Request) throws -> StoreReporter {
        let jobID = try APIID.require(request.pathParameters["job_id"], .job)
        guard let token = request.headers[WorkerWire.leaseTokenHeader], !token.isEmpty else {
            throw APIError.missingParameter(WorkerWire.leaseTokenHeader)
        }
        guard let attempt = request.headers[WorkerWire.leaseAttemptHeader].flatMap(Int.init), attempt >= 1 else {
            throw APIError.invalidValue(WorkerWire.leaseAttemptHeader, "expected the attempt number of the lease")
        }
        let settings = context.workerEndpoints
        return StoreReporter(lease: Lease(jobID: jobID, token: token, attempt: attempt), store: context.store,
                             files: CheckpointFolders(root: context.checkpointRoot), leaseSeconds: settings.leaseSeconds,
                             keepLastCheckpoint: settings.keepLastCheckpoint, clock: context.now)
    }

    private func body<Value: Decodable>(_ type: Value.Type, _ request: Request) throws -> Value {
        do { return try WorkerWire.decode(type, from: request.body.isEmpty ? Array("{}".utf8) : request.body) } catch {
            throw APIError.invalidWorkerMessage(error)
        }
    }

    static func checkpointName(_ name: String?) throws -> String {
        guard let name, ["best", "last"].contains(name) else {
            throw APIError.invalidValue("name", "expected best or last")
        }
        return name
    }

    private static func status(_ status: JobStatus) throws -> Response {
        .json(bytes: try WorkerWire.encode(WorkerWire.StatusReply(status: status.rawValue)))
    }
}
