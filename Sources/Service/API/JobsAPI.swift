import Foundation
import HTTP
import JobStore

/// `/v1/jobs`: create one job, list with filters, get, cancel, retry.
struct JobsAPI {
    let context: APIContext

    func register(on router: inout Router, _ routes: APIRoutes) {
        router.post("/v1/jobs", options: APIRoutes.requiredJSONBody, description: RouteDescription(
            "Create one job", tag: "jobs"),
            routes.v1Post { try create($0) })
        router.get("/v1/jobs", description: RouteDescription(
            "List jobs, newest first",
            query: [("sweep_id", "a sweep id"), ("status", "a job status"), ("task", "a GLUE task"), ("method", "a tuning method"), ("created_after", "Unix seconds"), ("after", "a job id (cursor)"), ("limit", "1-100")], tag: "jobs"),
            routes.v1 { try list($0) })
        router.get("/v1/jobs/{job_id}", description: RouteDescription(
            "A job: status, attempt, progress, error, result", tag: "jobs"),
            routes.v1 { try get($0) })
        router.post("/v1/jobs/{job_id}/cancel", options: APIRoutes.jsonBody, description: RouteDescription(
            "Cancel a job", tag: "jobs"),
            routes.v1Control("job_id", .job) {
            try PostOutcome(JobObject.one(try $0.cancelJob(id: $1, now: $2), in: $0))
        })
        // Body (optional): `{"resume": "checkpoint" | "scratch"}`.
        router.post("/v1/jobs/{job_id}/retry", options: APIRoutes.jsonBody, description: RouteDescription(
            "Re-queue a failed or cancelled job", tag: "jobs"),
            routes.v1Post { request in
            let id = try APIID.require(request.pathParameters["job_id"], .job)
            let fromScratch = try RetryBody.fromScratch(try RequestBody.object(request, allowed: ["resume"]))
            let now = context.now()
            return { writer in
                try PostOutcome(JobObject.one(try writer.retryJob(id: id, fromScratch: fromScratch, now: now), in: writer))
            }
        })
    }

    /// One grid cell with scalars: `task`, `k`, `seed`, `method`, `model`, `hyperparameters`, `max_attempts`,
    /// `metadata`, checked by the same field rules as sweeps. The job belongs to no sweep; its metadata
    /// is kept in its `created` event (jobs have no metadata column).
    private func create(_ request: Request) throws -> PostEffect {
        let body = try RequestBody.object(request, allowed: ["task", "k", "seed", "method", "model", "hyperparameters",
                                                             "max_attempts", "metadata"])
        func required(_ name: String) throws -> JSONValue {
            guard let value = body[name] else { throw APIError.missingParameter(name) }
            return value
        }
        let vocabulary = context.vocabulary
        let task = try SweepSpec.task(try required("task"), at: "task", vocabulary: vocabulary)
        let k = try SweepSpec.trainingSize(try required("k"), at: "k")
        try SweepSpec.checkTrainingSize(k, of: task, maximum: vocabulary.maximumK(task), at: "k")
        let seed = try SweepSpec.seed(try required("seed"), at: "seed")
        let method = try SweepSpec.method(try required("method"), at: "method", vocabulary: vocabulary)
        let model = try SweepSpec.model(body["model"], vocabulary: vocabulary)
        // Scalars only: one job is one cell.
        let hyperparameters = try SweepSpec.objectMembers(body["hyperparameters"] ?? .object([]), at: "hyperparameters")
            .map { member -> (name: String, value: JSONValue) in
                let rule = try SweepSpec.hyperparameterRule(member.key, vocabulary: vocabulary)
                return (member.key, try rule.validate(member.value, at: "hyperparameters.\(member.key)"))
            }
        let cell = JobCell(task: task, k: k, seed: seed, method: method, model: model, hyperparameters: hyperparameters)
        let job = NewJob(cell, key: cell.keyParts(varying: []),
                             maxAttempts: try SweepSpec.maxAttempts(body["max_attempts"], vocabulary: vocabulary))
        let metadata = try SweepSpec.metadata(body["metadata"])
        let eventData = JSONValue.object([("metadata", APIJSON.metadata(metadata))]).serialized()
        let now = context.now()
        return { writer in
            let created = try writer.enqueueJob(job, now: now)
            try writer.appendEvent(NewEvent(jobID: created.id, type: "created", message: "job created", data: eventData),
                                   now: now)
            return try PostOutcome(JobObject(created, slurmJobs: []), status: .created)
        }
    }

    /// Newest first; filters `sweep_id`, `status`, `task`, `method`, `created_after` (strictly after, Unix
    /// seconds); `after`, `limit`.
    private func list(_ request: Request) throws -> Response {
        let query = request.query
        let window = try query.listWindow(of: .job)
        let vocabulary = context.vocabulary
        let filter = JobFilter(sweepID: try query.id("sweep_id", of: .sweep),
                               status: try query.choice("status", JobStatus.allCases.map(\.rawValue)).flatMap(JobStatus.init),
                               task: try query.choice("task", vocabulary.tasks),
                               method: try query.choice("method", vocabulary.methods),
                               createdAfter: try query.integer("created_after", in: 0...Int.max))
        return try .api(try context.store.read { reader in
            let page = try reader.jobs(filter, after: window.after, limit: window.limit)
            return ListEnvelope(try JobObject.all(page.items, in: reader), hasMore: page.hasMore)
        })
    }

    private func get(_ request: Request) throws -> Response {
        let id = try APIID.require(request.pathParameters["job_id"], .job)
        return try .api(try context.store.read { try JobObject.one(try $0.job(id: id), in: $0) })
    }
}
