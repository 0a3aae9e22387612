import XCTest
@testable import Service

final class PrometheusRegistryTests: XCTestCase {
    func testCountersHistogramsAndScrapeTimeGauges() {
        let registry = PrometheusRegistry()
        registry.increment("unipelt_http_requests_total", help: "HTTP requests by status code.", labels: ["code": "200"])
        registry.increment("unipelt_http_requests_total", help: "HTTP requests by status code.", labels: ["code": "200"])
        registry.increment("unipelt_http_requests_total", help: "HTTP requests by status code.", labels: ["code": "404"])
        for seconds in [0.05, 0.3, 0.3, 7.0] {
            registry.observe("unipelt_training_step_seconds", help: "Training step time.", buckets: [0.1, 0.5, 1], value: seconds)
        }
        var depth = 3.0
        registry.registerGauge("unipelt_queue_depth", help: "Queued jobs.") { [(labels: [:], value: depth)] }
        depth = 5
        XCTAssertEqual(registry.render(), """
        # HELP unipelt_http_requests_total HTTP requests by status code.
        # TYPE unipelt_http_requests_total counter
        unipelt_http_requests_total{code="200"} 2
        unipelt_http_requests_total{code="404"} 1
        # HELP unipelt_training_step_seconds Training step time.
        # TYPE unipelt_training_step_seconds histogram
        unipelt_training_step_seconds_bucket{le="0.1"} 1
        unipelt_training_step_seconds_bucket{le="0.5"} 3
        unipelt_training_step_seconds_bucket{le="1"} 3
        unipelt_training_step_seconds_bucket{le="+Inf"} 4
        unipelt_training_step_seconds_sum 7.65
        unipelt_training_step_seconds_count 4
        # HELP unipelt_queue_depth Queued jobs.
        # TYPE unipelt_queue_depth gauge
        unipelt_queue_depth 5

        """)
    }

    func testLabelValuesAreEscaped() {
        XCTAssertEqual(PrometheusRegistry.render(["b": "x\"y", "a": "1\\2\n"]), #"{a="1\\2\n",b="x\"y"}"#)
    }
}
