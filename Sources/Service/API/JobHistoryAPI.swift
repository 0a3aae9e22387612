import Foundation
import HTTP
import JobStore

/// What a job reported while it ran: `/v1/jobs/{job_id}/events`, `/metrics` and `/gates`, each as a page
/// (JSON, and CSV for metrics and gates) or as a live stream (`HistoryStream`). All ascending.
struct JobHistoryAPI {
    let context: APIContext

    func register(on router: inout Router, _ routes: APIRoutes) {
        router.get("/v1/jobs/{job_id}/events", description: RouteDescription(
            "A job's event log",
            query: [("after", "an event id (cursor)"), ("limit", "1-100"), ("stream", "true to follow live")], tag: "jobs"),
            routes.v1 { try events($0) })
        router.get("/v1/jobs/{job_id}/metrics", description: RouteDescription(
            "A job's learning curves (a running job's newest step comes once it is whole)",
            query: [("keys", "comma-separated metric names"), ("after_step", "steps after this one"), ("limit", "1-10000 steps"), ("max_points", "downsample to this many"), ("format", "json or csv"), ("stream", "true to follow live")], tag: "jobs"),
            routes.v1 { try metrics($0) })
        router.get("/v1/jobs/{job_id}/gates", description: RouteDescription(
            "A job's gate values per layer and submodule",
            query: [("layer", "0-1000"), ("module", "A, P, Lq or Lv"), ("after_step", "steps after this one"), ("limit", "1-10000 steps"), ("max_points", "downsample to this many"), ("format", "json or csv"), ("stream", "true to follow live")], tag: "jobs"),
            routes.v1 { try gates($0) })
    }

    // MARK: Events: paged by event id

    private func events(_ request: Request) throws -> Response {
        let jobID = try APIID.require(request.pathParameters["job_id"], .job)
        let window = try request.query.listWindow(of: .event)
        if let format = try HistoryStream.format(of: request) {
            let resume = try request.headers["Last-Event-ID"].map { id -> String in
                guard APIID.isWellFormed(id, .event) else { throw APIError.invalidValue("Last-Event-ID", "expected an event id") }
                return id
            }
            return try HistoryStream.response(format, event: "event", jobID: jobID, from: resume ?? window.after,
                                              context: context) { reader, after in
                let page = try reader.events(jobID: jobID, after: after, limit: window.limit)
                return HistoryBatch(records: try page.items.map { ($0.id, try APIJSON.encode(EventObject($0))) },
                                    next: page.items.last?.id, hasMore: page.hasMore)
            }
        }
        let page = try context.store.read { try $0.events(jobID: jobID, after: window.after, limit: window.limit) }
        return try .api(ListEnvelope(try page.items.map(EventObject.init), hasMore: page.hasMore))
    }

    // MARK: Metrics and gates: paged by step

    private func metrics(_ request: Request) throws -> Response {
        let names = request.query["keys"].map { $0.split(separator: ",").map(String.init) }
        // A step's metrics come in two writes (training values, then dev and test values): a page, too, holds back
        // a running job's newest step, or a client following `next_after_step` would never get its later values.
        return try stepHistory(request, event: "metric", wholeStepPages: true, fetch: { reader, jobID, window in
            let page = try reader.metrics(jobID: jobID, names: names, window: window)
            return (MetricStepObject.grouping(page.points), page.hasMore, page.nextAfterStep)
        }, csv: { steps in
            // Columns: the requested keys in their order, else every name present, sorted.
            var present = Set<String>()
            let columns = names ?? steps.flatMap { $0.values.map(\.name) }.filter { present.insert($0).inserted }.sorted()
            var text = (["step", "epoch", "wall_time"] + columns).joined(separator: ",") + "\n"
            for step in steps {
                let values = Dictionary(step.values.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
                let fields = [String(step.step), step.epoch.map { String($0) } ?? "", String(step.wallTime)]
                    + columns.map { values[$0].map { String($0) } ?? "" }
                text += fields.joined(separator: ",") + "\n"
            }
            return text
        })
    }

    private func gates(_ request: Request) throws -> Response {
        let layer = try request.query.integer("layer", in: 0...1_000)
        let module = try request.query.choice("module", GateSubmodule.allCases.map(\.rawValue)).flatMap(GateSubmodule.init)
        // An evaluation's gates are written together, so a page shows the newest as soon as it exists.
        return try stepHistory(request, event: "gate", wholeStepPages: false, fetch: { reader, jobID, window in
            let page = try reader.gates(jobID: jobID, layer: layer, submodule: module, window: window)
            return (GateStepObject.grouping(page.points), page.hasMore, page.nextAfterStep)
        }, csv: { steps in
            var text = "step,layer,module,value\n"
            for step in steps {
                for gate in step.values { text += "\(step.step),\(gate.layer),\(gate.module),\(gate.value)\n" }
            }
            return text
        })
    }

    /// Metrics and gates share everything but the rows: the step window, `format=json|csv`, streaming
    /// (resumed from `Last-Event-ID`, the last step received; no downsampling of a live tail; a running job's
    /// newest step is sent once it is whole: when a later step is written or the job ends). With
    /// `wholeStepPages`, a page holds back a running job's newest step the same way.
    private func stepHistory<Step: Encodable & StepNumbered>(
        _ request: Request, event: String, wholeStepPages: Bool,
        fetch: @escaping @Sendable (StoreReader, String, StepWindow) throws -> (steps: [Step], hasMore: Bool, next: Int?),
        csv: ([Step]) -> String
    ) throws -> Response {
        let jobID = try APIID.require(request.pathParameters["job_id"], .job)
        let format = try request.query.choice("format", ["json", "csv"]) ?? "json"
        if let streamFormat = try HistoryStream.format(of: request) {
            guard format == "json" else { throw APIError.invalidValue("format", "a stream sends JSON; drop format=csv") }
            guard request.query["max_points"] == nil else {
                throw APIError.invalidValue("max_points", "a live stream is not downsampled; drop max_points")
            }
            let resume = try request.headers["Last-Event-ID"].map { id -> Int in
                guard let step = Int(id), step >= 0 else { throw APIError.invalidValue("Last-Event-ID", "expected a step") }
                return step
            }
            var streamWindow = try request.query.stepWindow(resumeStep: resume)
            // The stream moves past each step it sends: a running job's newest step waits until it is whole.
            streamWindow.wholeStepsOnly = true
            let window = streamWindow
            return try HistoryStream.response(streamFormat, event: event, jobID: jobID, from: window.afterStep,
                                              context: context) { reader, afterStep in
                var page = window
                page.afterStep = afterStep
                let (steps, hasMore, next) = try fetch(reader, jobID, page)
                return HistoryBatch(records: try steps.map { (String($0.step), try APIJSON.encode($0)) },
                                    next: next, hasMore: hasMore)
            }
        }
        var window = try request.query.stepWindow(resumeStep: nil)
        window.wholeStepsOnly = wholeStepPages
        let (steps, hasMore, next) = try context.store.read { [window] in try fetch($0, jobID, window) }
        if format == "csv" {
            var headers = HTTPHeaders()
            if hasMore, let next { headers.add("X-Next-After-Step", String(next)) }
            return .csv(csv(steps), headers: headers)
        }
        return try .api(StepListEnvelope(data: steps, has_more: hasMore, next_after_step: Nullable(next)))
    }
}

/// A per-step history object.
protocol StepNumbered { var step: Int { get } }
extension MetricStepObject: StepNumbered {}
extension GateStepObject: StepNumbered {}
