import Foundation
import HTTP
@testable import Service
import XCTest

/// The worker side of claim ids, against a stand-in service: a claim that got no usable reply is sent again under
/// the same id, and a claim after a reply gets a new one. (The client itself resends a request, body and all, when
/// the connection drops or the service answers 503; this is the worker's own retry, after any other failure.)
final class PullWorkerClaimTests: XCTestCase {
    /// Claim bodies as the stand-in received them; it fails the first with a 500, as a service that committed the
    /// claim and then failed to build its reply, and answers later ones with no job.
    private final class ClaimLog: @unchecked Sendable {
        private let lock = NSLock()
        private var bodies: [[String: Any]] = []

        func record(_ request: Request) -> Response {
            lock.lock()
            defer { lock.unlock() }
            bodies.append((try? JSONSerialization.jsonObject(with: request.bodyData)) as? [String: Any] ?? [:])
            return bodies.count == 1
                ? .json(bytes: Array(#"{"error": {"message": "lost"}}"#.utf8), status: .internalServerError)
                : .json(bytes: Array(#"{"assignment": null}"#.utf8))
        }

        var claimIDs: [String?] { lock.lock(); defer { lock.unlock() }; return bodies.map { $0["claim_id"] as? String } }
    }

    func testAClaimWithoutAReplyIsSentAgainUnderItsID() throws {
        let log = ClaimLog()
        var router = Router()
        router.post("/v1/workers/claim") { log.record($0) }
        var configuration = Server.Configuration()
        configuration.port = 0
        let server = Server(configuration: configuration, router: router)
        try server.start()
        defer { server.shutdown(gracePeriod: 1) }

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("claims-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func worker() -> PullWorker {
            var options = PullWorker.Options(server: URL(string: "http://127.0.0.1:\(server.port)")!, token: nil, threads: 1,
                                             once: true, modelDirectory: folder, glueDirectory: folder,
                                             workDirectory: folder, owner: "test")
            options.pollSeconds = 0.01
            return PullWorker(options: options, log: ServiceLog(minimumLevel: .error))
        }
        // One run: the failed claim, then the same claim again, answered with no job.
        XCTAssertEqual(worker().run(), 0)
        // Another run claims anew.
        XCTAssertEqual(worker().run(), 0)
        let ids = log.claimIDs
        guard ids.count == 3 else { return XCTFail("3 claims expected: \(ids)") }
        XCTAssertNotNil(ids.first ?? nil)
        XCTAssertEqual(ids[0], ids[1], "sent again under its id")
        XCTAssertNotEqual(ids[1], ids[2], "a claim after a reply has a new id")
    }
}
