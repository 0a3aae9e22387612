import Foundation
import HTTP
import JobStore

/// Unversioned ops routes, open without a token: `/healthz` (the process answers), `/readyz` (database
/// readable plus the app's own checks), `/metrics` (Prometheus text).
struct OpsAPI {
    let context: APIContext

    func register(on router: inout Router, _ routes: APIRoutes) {
        router.get("/healthz", description: RouteDescription(
            "Liveness", tag: "ops"),
            APIRoutes.mappingErrors { _ in try .api(HealthObject(status: "ok")) })
        router.get("/readyz", description: RouteDescription(
            "Readiness: database, workers", tag: "ops"),
            APIRoutes.mappingErrors { try readyz($0) })
        router.get("/metrics", description: RouteDescription(
            "Prometheus metrics", tag: "ops"),
            APIRoutes.mappingErrors { [context] _ in
            .bytes(Array(context.metrics.render().utf8), contentType: "text/plain; version=0.0.4; charset=utf-8")
        })
        registerGauges()
    }

    private func readyz(_ request: Request) throws -> Response {
        let databaseReadable = (try? context.store.read { try $0.sweeps(limit: 1) }) != nil
        let checks = context.readiness().merging(["database": databaseReadable]) { _, database in database }
        let failing = checks.filter { !$0.value }.map(\.key).sorted()
        guard failing.isEmpty else { throw APIError.notReady(failing) }
        return try .api(ReadinessObject(status: "ready", checks: checks, version: context.codeVersion))
    }

    /// Gauges read from the store at scrape time, so they are never stale.
    private func registerGauges() {
        let store = context.store
        context.metrics.registerGauge("unipelt_jobs", help: "Jobs by status.") {
            let counts = (try? store.read { try $0.jobCountsByStatus() }) ?? [:]
            return JobStatus.allCases.map { (["status": $0.rawValue], Double(counts[$0] ?? 0)) }
        }
        context.metrics.registerGauge("unipelt_queue_depth", help: "Jobs waiting in the queue (status queued).") {
            let queued = (try? store.read { try $0.jobCountsByStatus() })?[.queued] ?? 0
            return [([:], Double(queued))]
        }
    }
}

/// A `ServerLog` that counts requests by method and status code, and their durations, into the registry,
/// then passes each line on. The app installs it as `Server.Configuration.log`.
public struct RequestMetricsLog: ServerLog {
    private let base: ServerLog
    private let metrics: PrometheusRegistry

    public init(wrapping base: ServerLog, metrics: PrometheusRegistry) {
        self.base = base
        self.metrics = metrics
    }

    public func access(_ entry: AccessLogEntry) {
        // Methods are client text: unknown ones share one label value, so a client cannot grow the registry.
        let method = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(entry.method) ? entry.method : "other"
        let labels = ["method": method, "code": String(entry.status)]
        metrics.increment("unipelt_http_requests_total", help: "HTTP requests answered, by method and status code.",
                          labels: labels)
        metrics.observe("unipelt_http_request_duration_seconds", help: "Time from the first byte of a request to the end of its response.",
                        buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30], value: entry.duration, labels: ["method": method])
        base.access(entry)
    }

    public func failure(_ message: String, requestID: String?) {
        base.failure(message, requestID: requestID)
    }
}
