import Foundation
import XCTest
@testable import Service
import TestSupport

final class ModelLibraryTests: XCTestCase {
    /// A missing default model is named with its folder and the fix, not as "unknown model default".
    func testMissingModelsAreNamedClearly() throws {
        let directory = try makeTemporaryDirectory("unipelt-models").path
        let library = ModelLibrary(directory: directory, defaultName: "minilm-l6")
        XCTAssertThrowsError(try library.load("default")) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("default model \"minilm-l6\" is not installed in \(directory)"), message)
            XCTAssertTrue(message.contains("deploy/setup.sh"), message)
        }
        XCTAssertThrowsError(try library.load("bert-base")) { error in
            XCTAssertEqual("\(error)", "unknown model \"bert-base\"; available: default")
        }
    }

    /// A model folder copied in while the service runs can be named in the next POST, without a restart.
    func testModelInstalledWhileServingIsAcceptedWithoutRestart() throws {
        guard FileManager.default.isExecutableFile(atPath: ServiceProcess.binary.path) else {
            throw XCTSkip("unipelt binary not found at \(ServiceProcess.binary.path)")
        }
        let world = try TinyWorld()
        defer { world.remove() }
        let service = try ServiceProcess(world: world)
        let body = #"{"tasks": ["rte"], "k": [16], "seeds": [1], "methods": ["lora"], "model": "tiny-copy", "dry_run": true}"#
        let refused = try service.json("/v1/sweeps", method: "POST", body: body)
        XCTAssertEqual(refused.status, 400, "\(refused.object)")
        XCTAssertEqual((refused.object["error"] as? [String: Any])?["param"] as? String, "model")

        try FileManager.default.copyItem(atPath: world.modelDirectory + "/tiny", toPath: world.modelDirectory + "/tiny-copy")
        let accepted = try service.json("/v1/sweeps", method: "POST", body: body)
        XCTAssertEqual(accepted.status, 200, "\(accepted.object)")
        service.signal(SIGTERM)
        XCTAssertEqual(service.waitForExit(timeout: 60), 0, service.logText())
    }
}
