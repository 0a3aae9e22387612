import Analysis
import Foundation
import HTTP
import JobStore
import Text

/// `/v1/sweeps`: create (grid expansion), list, get, pause/resume/cancel/retry, results tables, comparisons, gates.
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
            "Table 1 (mean and std over seeds, hyperparameter variants selected by dev) or Table 2",
            query: [("table", "1 or 2"), ("variants", "selected or all"), ("format", "json or csv")], tag: "sweeps"),
            routes.v1 { try results($0) })
        router.get("/v1/sweeps/{sweep_id}/compare", description: RouteDescription(
            "Paired comparison of two methods over the cells both ran, with a bootstrap interval",
            query: [("a", "method"), ("b", "method or best-single"), ("bootstrap_seed", "integer"),
                    ("resamples", "100 to 100000"), ("format", "json or csv")], tag: "sweeps"),
            routes.v1 { try compare($0) })
        router.get("/v1/sweeps/{sweep_id}/gates", description: RouteDescription(
            "Mean gate value per layer and submodule at the best checkpoint, over seeds",
            query: [("variants", "selected or all"), ("format", "json or csv")], tag: "sweeps"),
            routes.v1 { try gates($0) })
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
        let installation = context.installation
        let jobs = zip(spec.cells, spec.keys).map {
            NewJob($0, key: $1, maxAttempts: spec.maxAttempts,
                   expectedCost: ExpectedJobCost.estimate($0, installation: installation))
        }
        let now = context.now()
        return { writer in
            let created = try writer.createSweep(sweep, jobs: jobs, now: now)
            let firstPage = try writer.jobs(JobFilter(sweepID: created.sweep.id), limit: 20)
            let jobList = ListEnvelope(try JobObject.all(firstPage.items, in: writer), hasMore: firstPage.hasMore)
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

    // MARK: Controls return the sweep object; pause, resume and cancel are in `register`

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

    /// `table=1` (default; `variants=selected|all`) or `table=2`; `format=json|csv`.
    private func results(_ request: Request) throws -> Response {
        let table = try request.query.choice("table", ["1", "2"]) ?? "1"
        let view = try variantView(request)
        if table == "2", view == .all {
            throw APIError.invalidValue("variants", "Table 2 compares the dev-selected variants; expected selected")
        }
        return try report(request, table == "2" ? .table2 : .table1(view))
    }

    /// `a`, `b` (a method, or `best-single` for a UniPELT `a`), `bootstrap_seed`, `resamples`, `format`.
    private func compare(_ request: Request) throws -> Response {
        let bootstrap = PairedBootstrap(resamples: try request.query.integer("resamples", in: 100...100_000) ?? 10_000,
                                        seed: UInt64(try request.query.integer("bootstrap_seed", in: 0...Int(Int32.max)) ?? 1))
        return try report(request, try SweepReport.comparison(a: request.query["a"], b: request.query["b"],
                                                              methods: context.vocabulary.methods, bootstrap: bootstrap))
    }

    /// `variants=selected|all`, `format`.
    private func gates(_ request: Request) throws -> Response {
        try report(request, .gates(try variantView(request)))
    }

    private func variantView(_ request: Request) throws -> VariantView {
        try request.query.choice("variants", VariantView.allCases.map(\.rawValue)).flatMap(VariantView.init) ?? .selected
    }

    private func report(_ request: Request, _ report: SweepReport) throws -> Response {
        let id = try APIID.require(request.pathParameters["sweep_id"], .sweep)
        let format = try request.query.choice("format", SweepReport.Format.allCases.map(\.rawValue)).flatMap(SweepReport.Format.init) ?? .json
        let inputs = try context.store.read { try $0.reportInputs(sweepID: id, gates: report.needsGates) }
        let vocabulary = context.vocabulary
        let text = try report.render(runs: inputs.runs, gates: inputs.gates, taskOrder: vocabulary.tasks,
                                     methodOrder: vocabulary.methods, sweepID: id, format: format)
        return format == .csv ? .csv(text) : .json(bytes: Array(text.utf8), status: .ok)
    }
}

extension NewJob {
    /// A grid cell as a job row: the spec document the worker parses (`JobSpecCoding`), and the
    /// hyperparameter part of the key as the variant results are grouped by.
    init(_ cell: JobCell, key: String, maxAttempts: Int, expectedCost: Double = 0) {
        let base = cell.keyParts(varying: [])
        let variant = key.count > base.count ? String(key.dropFirst(base.count + 1)) : ""
        let k: KShot
        switch cell.k {
        case .k(let count): k = .examples(count)
        case .all: k = .all
        }
        self.init(cellKey: key, task: cell.task, k: k, seed: cell.seed, method: cell.method, variant: variant,
                  spec: JobSpecCoding.encode(cell),
                  maxAttempts: maxAttempts, expectedCost: expectedCost)
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
