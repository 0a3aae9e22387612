import Foundation
import HTTP
import JobStore
import Text

/// `/v1/sweeps`: create (grid expansion), list, get, pause/resume/cancel/retry, results table.
struct SweepsAPI {
    let context: APIContext

    func register(on router: inout Router, _ routes: APIRoutes) {
        router.post("/v1/sweeps", options: APIRoutes.requiredJSONBody, description: RouteDescription(
            "Create a sweep (tasks x k x seeds x methods x hyperparameter lists)", tag: "sweeps"),
            routes.v1Post { try create($0) })
        router.get("/v1/sweeps", description: RouteDescription(
            "List sweeps, newest first",
            query: [("status", "a sweep status"), ("after", "a sweep id (cursor)"), ("limit", "1-100")], tag: "sweeps"),
            routes.v1 { try list($0) })
        router.get("/v1/sweeps/{sweep_id}", description: RouteDescription(
            "A sweep with counts and progress", tag: "sweeps"),
            routes.v1 { try get($0) })
        router.post("/v1/sweeps/{sweep_id}/pause", options: APIRoutes.jsonBody, description: RouteDescription(
            "Pause a sweep: nothing new starts", tag: "sweeps"),
            routes.v1Control("sweep_id", .sweep) {
            try PostOutcome(SweepObject(try $0.pauseSweep(id: $1, now: $2)))
        })
        router.post("/v1/sweeps/{sweep_id}/resume", options: APIRoutes.jsonBody, description: RouteDescription(
            "Resume a paused sweep", tag: "sweeps"),
            routes.v1Control("sweep_id", .sweep) {
            try PostOutcome(SweepObject(try $0.resumeSweep(id: $1, now: $2)))
        })
        router.post("/v1/sweeps/{sweep_id}/cancel", options: APIRoutes.jsonBody, description: RouteDescription(
            "Cancel a sweep: running jobs stop", tag: "sweeps"),
            routes.v1Control("sweep_id", .sweep) {
            try PostOutcome(SweepObject(try $0.cancelSweep(id: $1, now: $2)))
        })
        router.post("/v1/sweeps/{sweep_id}/retry", options: APIRoutes.jsonBody, description: RouteDescription(
            "Re-queue failed and cancelled cells", tag: "sweeps"),
            routes.v1Post { try retry($0) })
        router.get("/v1/sweeps/{sweep_id}/results", description: RouteDescription(
            "The results table (mean and std over seeds)",
            query: [("format", "json or csv")], tag: "sweeps"),
            routes.v1 { try results($0) })
    }

    // MARK: Create

    private func create(_ request: Request) throws -> PostEffect {
        let spec = try SweepSpec.validate(try JSONParser.parse(request.body), vocabulary: context.vocabulary)
        if spec.dryRun {
            let outcome = try PostOutcome(SweepDryRunObject(job_count: spec.cells.count, keys: spec.keys))
            return { _ in outcome }
        }
        let sweep = NewSweep(name: spec.name ?? "", spec: String(decoding: request.body, as: UTF8.self),
                             metadata: APIJSON.metadata(spec.metadata).serialized(), maxConcurrency: spec.maxConcurrency)
        let jobs = zip(spec.cells, spec.keys).map { NewJob($0, key: $1, maxAttempts: spec.maxAttempts) }
        let now = context.now()
        return { writer in
            let created = try writer.createSweep(sweep, jobs: jobs, now: now)
            let firstPage = try writer.jobs(JobFilter(sweepID: created.sweep.id), limit: 20)
            let jobList = ListEnvelope(try firstPage.items.map(JobObject.init), hasMore: firstPage.hasMore)
            return try PostOutcome(SweepObject(created.sweep, jobs: jobList), status: .created)
        }
    }

    // MARK: Read

    private func list(_ request: Request) throws -> Response {
        let window = try request.query.listWindow(of: .sweep)
        let status = try request.query.choice("status", SweepStatus.allCases.map(\.rawValue)).flatMap(SweepStatus.init)
        let page = try context.store.read { try $0.sweeps(status: status, after: window.after, limit: window.limit) }
        return try .api(ListEnvelope(try page.items.map { try SweepObject($0) }, hasMore: page.hasMore))
    }

    private func get(_ request: Request) throws -> Response {
        let id = try APIID.require(request.pathParameters["sweep_id"], .sweep)
        return try .api(try SweepObject(try context.store.read { try $0.sweep(id: id) }))
    }

    // MARK: Controls (service.md §3 items 5–6) return the sweep object; pause, resume and cancel are in `register`

    /// Body (optional): `{"statuses": ["failed", "cancelled"], "resume": "checkpoint" | "scratch"}`.
    private func retry(_ request: Request) throws -> PostEffect {
        let id = try APIID.require(request.pathParameters["sweep_id"], .sweep)
        let body = try RequestBody.object(request, allowed: ["statuses", "resume"])
        var statuses: Set<JobStatus> = [.failed, .cancelled]
        if let value = body["statuses"] {
            guard case .array(let elements) = value, !elements.isEmpty else {
                throw APIError.invalidValue("statuses", "expected a non-empty list of \"failed\", \"cancelled\"")
            }
            statuses = try Set(elements.enumerated().map { index, element in
                let param = "statuses[\(index)]"
                return JobStatus(rawValue: try SweepSpec.string(ValueRule.choice(["failed", "cancelled"]).validate(element, at: param),
                                                                at: param))!
            })
        }
        let fromScratch = try RetryBody.fromScratch(body)
        let now = context.now()
        return { writer in
            try PostOutcome(SweepObject(try writer.retrySweep(id: id, statuses: statuses, fromScratch: fromScratch, now: now).sweep))
        }
    }

    // MARK: Results

    private func results(_ request: Request) throws -> Response {
        let id = try APIID.require(request.pathParameters["sweep_id"], .sweep)
        let format = try request.query.choice("format", ["json", "csv"]) ?? "json"
        let rows = try context.store.read { try $0.sweepResults(sweepID: id) }
        let vocabulary = context.vocabulary
        let table = ResultsTable(results: rows, taskOrder: vocabulary.tasks, methodOrder: vocabulary.methods)
        if format == "csv" { return .csv(table.csv()) }
        return try .api(SweepResultsObject(sweep_id: id, data: table.rows()))
    }
}

extension NewJob {
    /// A grid cell as a job row: the spec document the worker parses (`JobSpecCoding`), and the
    /// hyperparameter part of the key as the variant results are grouped by.
    init(_ cell: JobCell, key: String, maxAttempts: Int) {
        let base = cell.keyParts(varying: [])
        let variant = key.count > base.count ? String(key.dropFirst(base.count + 1)) : ""
        let k: KShot
        switch cell.k {
        case .k(let count): k = .examples(count)
        case .all: k = .all
        }
        self.init(cellKey: key, task: cell.task, k: k, seed: cell.seed, method: cell.method, variant: variant,
                  spec: JobSpecCoding.encode(cell),
                  maxAttempts: maxAttempts)
    }
}

/// The `resume` option of a retry: `"checkpoint"` (default) continues from the job's last checkpoint;
/// `"scratch"` discards its checkpoints and curves and trains from step 0.
enum RetryBody {
    static func fromScratch(_ body: JSONValue) throws -> Bool {
        guard let resume = body["resume"] else { return false }
        return try SweepSpec.string(ValueRule.choice(["checkpoint", "scratch"]).validate(resume, at: "resume"),
                                    at: "resume") == "scratch"
    }
}
