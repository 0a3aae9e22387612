import Foundation
import HTTP
import JobStore
import Model
import Text
import Training

/// `POST /v1/jobs/{job_id}/predict`: `{"inputs": [["premise", "hypothesis"], ["premise 2", "hypothesis 2"]],
/// "checkpoint": "best" | "last" | <checkpoint id>}` → one prediction per input, in order. Each input has as
/// many texts as the job's task: a pair (MRPC, QQP, STS-B, QNLI, RTE, MNLI) or one (SST-2, CoLA).
/// `GET /v1/jobs/{job_id}/export?format=peft|adapters|merged[&checkpoint=…]` → the export folder as a tar stream.
struct InferenceAPI {
    let context: APIContext

    func register(on router: inout Router, _ routes: APIRoutes) {
        router.post("/v1/jobs/{job_id}/predict", options: APIRoutes.requiredJSONBody, description: RouteDescription(
            "Run a trained checkpoint of the job on texts (inputs, checkpoint)", tag: "jobs"),
            routes.v1 { try predict($0) })
        router.get("/v1/jobs/{job_id}/export", description: RouteDescription(
            "The trained model as a tar of a PEFT, adapters or merged Hugging Face folder",
            query: [("format", "peft, adapters or merged"), ("checkpoint", "best (default), last or a checkpoint id")],
            tag: "jobs"),
            routes.v1 { try export($0) })
    }

    private var inference: Inference {
        get throws {
            guard let inference = context.inference else {
                throw APIError(status: 503, type: "server_error", code: "inference_unavailable",
                               message: "this server does not load trained models")
            }
            return inference
        }
    }

    private func predict(_ request: Request) throws -> Response {
        let jobID = try APIID.require(request.pathParameters["job_id"], .job)
        let body = try RequestBody.object(request, allowed: ["inputs", "checkpoint"])
        guard let inputsValue = body["inputs"] else { throw APIError.missingParameter("inputs") }
        guard case let .array(items) = inputsValue else {
            throw APIError.invalidValue("inputs", "expected an array of inputs, got \(inputsValue.typeName)")
        }
        let inference = try inference
        if items.count > inference.limits.maxInputs {
            throw PredictionError.tooManyInputs(count: items.count, limit: inference.limits.maxInputs)
        }
        let inputs = try items.enumerated().map { try PredictionJSON.input($1, at: "inputs[\($0)]") }
        let (checkpoint, path) = try resolveCheckpoint(jobID: jobID, body["checkpoint"])
        let predictor = try inference.predictor(path: path, sha256: checkpoint.sha256)
        let predictions = try predictor.predict(inputs)
        return try .api(PredictionList(
            data: predictions.enumerated().map { PredictionJSON.Object($1, index: $0, task: predictor.checkpoint.task) },
            checkpointID: checkpoint.id, task: predictor.checkpoint.task.rawValue, method: predictor.checkpoint.spec.method))
    }

    /// Exports into a folder of its own under the export directory, then streams it and removes it. Refusals
    /// (a format that cannot express the method) happen before the response starts.
    private func export(_ request: Request) throws -> Response {
        let jobID = try APIID.require(request.pathParameters["job_id"], .job)
        guard let name = try request.query.choice("format", ExportFormat.allCases.map(\.rawValue)) else {
            throw APIError.missingParameter("format")
        }
        let format = ExportFormat(rawValue: name)!
        let inference = try inference
        let (_, path) = try resolveCheckpoint(jobID: jobID, request.query["checkpoint"].map(JSONValue.string))
        let folder = "\(jobID)-\(format.rawValue)"
        let headers = HTTPHeaders([("Content-Disposition", "attachment; filename=\"\(folder).tar\"")])
        let model = try TrainedModel.open(checkpointPath: path, models: inference.models)
        // A HEAD response has no body, so nothing would stream an export and remove it: refuse as GET would, write
        // nothing.
        if request.method == "HEAD" {
            try model.checkExport(format)
            return .stream(.chunked(contentType: "application/x-tar"), headers: headers) { _ in }
        }
        let directory = inference.exportDirectory + "/" + folder + "-" + UUID().uuidString
        let files: [String]
        do {
            files = try model.export(format, to: directory)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        return .stream(.chunked(contentType: "application/x-tar"), headers: headers) { stream in
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try? TarWriter.archive(directory: directory, files: files, folder: folder, modified: Date()) { try stream.write($0) }
        }
    }

    /// `best` (the default), `last`, or a checkpoint id of this job; with its file's real path, which
    /// must lie inside the checkpoint root.
    func resolveCheckpoint(jobID: String, _ value: JSONValue?) throws -> (checkpoint: Checkpoint, path: String) {
        let wanted: String
        switch value {
        case nil: wanted = "best"
        case let .string(text)?: wanted = text
        case let other?: throw APIError.invalidValue("checkpoint", "expected \"best\", \"last\" or a checkpoint id, got \(other.typeName)")
        }
        let (checkpoints, bestID) = try context.store.read { reader in
            (try reader.checkpoints(jobID: jobID), try reader.job(id: jobID).bestCheckpointID)
        }
        let found: Checkpoint?
        switch wanted {
        case "best": found = checkpoints.first { $0.id == bestID }
        case "last": found = checkpoints.last { $0.name == "last" }
        default:
            guard APIID.isWellFormed(wanted, .checkpoint) else {
                throw APIError.invalidValue("checkpoint", "expected \"best\", \"last\" or a checkpoint id")
            }
            found = checkpoints.first { $0.id == wanted }
        }
        guard let checkpoint = found, let path = CheckpointsAPI.servablePath(checkpoint, root: context.checkpointRoot) else {
            throw APIError(status: 409, type: "conflict_error", code: "checkpoint_unavailable",
                           message: "job \(jobID) has no \(wanted) checkpoint file yet", param: "checkpoint")
        }
        return (checkpoint, path)
    }
}

/// The predict answer: the predictions and which checkpoint made them.
struct PredictionList: Encodable {
    let object = "list"
    let data: [PredictionJSON.Object]
    let checkpointID: String
    let task: String
    let method: String

    enum CodingKeys: String, CodingKey {
        case object, data, task, method
        case checkpointID = "checkpoint_id"
    }
}
