import Foundation
import XCTest
@testable import Service

/// The dashboard's files are served from the binary, open even when the API wants a token, under a
/// Content-Security-Policy that allows this origin only.
final class DashboardRoutesTests: APITestCase {
    override var apiToken: String? { "dashboard-secret" }

    func testEveryFileOfTheFolderIsServedWithTheSecurityHeaders() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/Service/Dashboard")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        XCTAssertEqual(files, Dashboard.assets.keys.sorted(), "Dashboard.assets lists every file of the folder")
        for file in files {
            let response = try get(file == "index.html" ? "/" : "/dashboard/\(file)")
            XCTAssertEqual(response.status, 200, file)
            XCTAssertEqual(response.body, Array(try Data(contentsOf: folder.appendingPathComponent(file))), file)
            XCTAssertEqual(response.headers["content-security-policy"], Dashboard.contentSecurityPolicy, file)
            XCTAssertEqual(response.headers["x-content-type-options"], "nosniff", file)
        }
        let policy = Dashboard.contentSecurityPolicy
        XCTAssertTrue(policy.contains("script-src 'self';") && !policy.contains("unsafe"), policy)
        XCTAssertEqual(try get("/dashboard/missing.js").status, 404)
        XCTAssertEqual(try get("/v1/sweeps").status, 401, "the pages are open; the API they call is not")
    }
}

/// The dashboard in Debian's headless chromium against the real `unipelt serve` with a running tiny job:
/// the sweeps page lists the sweep, the job page's curve grows while the job runs, the gate heatmap has
/// cells, cancel (confirmed) cancels the job; no console error, no other origin.
final class DashboardBrowserTests: XCTestCase {
    private var world: TinyWorld!

    /// The page's links, buttons and inputs that a screen reader could not name (no text, label or aria-label).
    private static let unnamedControls = """
        [...document.querySelectorAll('a, button, input, select')].filter((control) => !control.closest('dialog')
          && !(control.getAttribute('aria-label') || control.textContent.trim() || (control.labels && control.labels.length)))
          .map((control) => control.outerHTML)
        """

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: ServiceProcess.binary.path) else {
            throw XCTSkip("unipelt binary not found at \(ServiceProcess.binary.path)")
        }
        world = try TinyWorld()
    }

    override func tearDown() {
        world?.remove()
    }

    func testSweepsPageLiveJobPageHeatmapAndCancel() throws {
        let service = try ServiceProcess(world: world)
        let browser = try HeadlessChromium(profile: world.root.appendingPathComponent("chromium").path)
        let origin = "http://127.0.0.1:\(service.port)"

        // One UniPELT job long enough to be cancelled while it runs (the test ends it).
        let created = try service.json("/v1/sweeps", method: "POST", body: #"{"name": "browser", "tasks": ["rte"], "k": [16], "seeds": [1], "methods": ["unipelt-apl"], "hyperparameters": {"epochs": 1000, "batch_size": 8, "max_seq_length": 32, "early_stopping_patience": 0}}"#)
        let sweepID = try XCTUnwrap(created.object["id"] as? String, "\(created.object)")
        let jobs = try XCTUnwrap((created.object["jobs"] as? [String: Any])?["data"] as? [[String: Any]])
        let jobID = try XCTUnwrap(jobs.first?["id"] as? String)

        try browser.open("\(origin)/")
        let listed: String? = try browser.poll("document.querySelector('#sweeps tr[data-id=\"\(sweepID)\"]')?.textContent ?? ''") {
            !$0.isEmpty
        }
        XCTAssertTrue(listed?.contains("browser") == true, listed ?? "")

        // The sweep page's grid links the job (same page, new route, as a click on a link does).
        _ = try browser.evaluate("location.hash = '#/sweeps/\(sweepID)'")
        try browser.poll("document.querySelectorAll('#jobs-grid a.cell[href=\"#/jobs/\(jobID)\"]').length") { (count: Int) in count == 1 }
        XCTAssertEqual(try browser.evaluate(Self.unnamedControls) as? [String], [], "controls without a name")

        // Same page, new route: the curve must grow from the live stream, without a reload.
        _ = try browser.evaluate("location.hash = '#/jobs/\(jobID)'")
        let points = "Number(document.querySelector('#loss-chart svg')?.dataset.points ?? 0)"
        let first: Int? = try browser.poll(points) { $0 > 0 }
        let grown: Int? = try browser.poll(points, timeout: 30) { $0 > (first ?? 0) }
        XCTAssertGreaterThan(grown ?? 0, first ?? 0)
        XCTAssertEqual(try service.json("/v1/jobs/\(jobID)").object["status"] as? String, "running",
                       "the curve grew while the job ran")

        XCTAssertEqual(try browser.evaluate(Self.unnamedControls) as? [String], [], "controls without a name")

        let cells: Int? = try browser.poll("document.querySelectorAll('#gates rect.gate-cell').length", timeout: 30) { $0 > 0 }
        let gates = try service.json("/v1/jobs/\(jobID)/gates?limit=1").object["data"] as? [[String: Any]] ?? []
        XCTAssertEqual(cells, (gates.first?["values"] as? [Any])?.count, "one cell per layer and submodule")

        // Cancel asks first; only "Yes, cancel" sends it.
        _ = try browser.evaluate("document.getElementById('job-cancel').click()")
        try browser.poll("document.getElementById('confirm-dialog').open") { (open: Bool) in open }
        _ = try browser.evaluate("document.getElementById('confirm-yes').click()")
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, try service.json("/v1/jobs/\(jobID)").object["status"] as? String != "cancelled" {
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertEqual(try service.json("/v1/jobs/\(jobID)").object["status"] as? String, "cancelled")
        try browser.poll("document.getElementById('job-status')?.dataset.status ?? ''") { (status: String) in status == "cancelled" }

        let events = browser.events
        let problems = events.filter { event in
            switch event["method"] as? String {
            case "Runtime.exceptionThrown": return true
            case "Runtime.consoleAPICalled": return ["error", "assert"].contains((event["params"] as? [String: Any])?["type"] as? String)
            case "Log.entryAdded":
                let entry = (event["params"] as? [String: Any])?["entry"] as? [String: Any] ?? [:]
                // The sweep page asks for endpoints a server may lack and hides their sections on a 404,
                // which chromium logs as a failed load.
                let probe = (entry["url"] as? String ?? "").hasPrefix("\(origin)/v1/sweeps/\(sweepID)/gates")
                return entry["level"] as? String == "error" && !(probe && entry["source"] as? String == "network")
            default: return false
            }
        }
        XCTAssertEqual(problems.count, 0, "console errors: \(problems)")
        let requested = events.filter { $0["method"] as? String == "Network.requestWillBeSent" }
            .compactMap { (($0["params"] as? [String: Any])?["request"] as? [String: Any])?["url"] as? String }
        XCTAssertFalse(requested.isEmpty)
        XCTAssertEqual(requested.filter { !$0.hasPrefix(origin + "/") }, [], "requests to another origin")
        XCTAssertFalse(requested.contains { $0.contains("dashboard-secret") || $0.contains("token") }, "no token in a URL")
    }
}

extension DashboardBrowserTests {
    /// With an API token the page asks for it once, sends it as a Bearer header and never puts it in a URL.
    func testTokenIsAskedOnceAndNeverSentInAURL() throws {
        let token = "browser-token-\(UUID().uuidString.prefix(8))"
        let service = try ServiceProcess(world: world, extraEnvironment: ["UNIPELT_API_TOKEN": token])
        let created = try service.json("/v1/sweeps", method: "POST", body: #"{"name": "tokened", "tasks": ["rte"], "k": [16], "seeds": [1], "methods": ["lora"], "dry_run": false, "hyperparameters": {"epochs": 1, "batch_size": 8, "max_seq_length": 32}}"#,
                                       headers: ["Authorization: Bearer \(token)"])
        let sweepID = try XCTUnwrap(created.object["id"] as? String, "\(created.object)")
        let browser = try HeadlessChromium(profile: world.root.appendingPathComponent("chromium").path)
        let origin = "http://127.0.0.1:\(service.port)"
        try browser.open("\(origin)/")

        try browser.poll("document.getElementById('token-dialog')?.open ?? false") { (open: Bool) in open }
        _ = try browser.evaluate("document.getElementById('token-input').value = '\(token)'; document.getElementById('token-save').click()")
        try browser.poll("document.querySelectorAll('#sweeps tr[data-id=\"\(sweepID)\"]').length") { (count: Int) in count == 1 }
        // Further pages and refreshes use the kept token: the dialog stays closed.
        _ = try browser.evaluate("location.hash = '#/sweeps/\(sweepID)'")
        try browser.poll("document.querySelectorAll('#jobs-grid a.cell').length") { (count: Int) in count == 1 }
        XCTAssertEqual(try browser.evaluate("document.getElementById('token-dialog').open") as? Bool, false)
        XCTAssertEqual(try browser.evaluate("sessionStorage.length") as? Int, 1)

        let requests = browser.events.filter { $0["method"] as? String == "Network.requestWillBeSent" }
            .compactMap { ($0["params"] as? [String: Any])?["request"] as? [String: Any] }
        let urls = requests.compactMap { $0["url"] as? String }
        XCTAssertFalse(urls.isEmpty)
        XCTAssertEqual(urls.filter { $0.contains(token) }, [], "the token never appears in a URL")
        // The headers as sent on the wire come in the "extra info" events.
        let sentHeaders = browser.events.filter { $0["method"] as? String == "Network.requestWillBeSentExtraInfo" }
            .compactMap { ($0["params"] as? [String: Any])?["headers"] as? [String: Any] }
        XCTAssertTrue(sentHeaders.contains { headers in
            headers.contains { $0.key.lowercased() == "authorization" && $0.value as? String == "Bearer \(token)" }
        }, "\(sentHeaders)")
    }
}
