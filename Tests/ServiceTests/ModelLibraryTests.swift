import Foundation
import XCTest
@testable import Service

final class ModelLibraryTests: XCTestCase {
    /// A missing default model is named with its folder and the fix, not as "unknown model default".
    func testMissingModelsAreNamedClearly() throws {
        let directory = NSTemporaryDirectory() + "unipelt-models-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
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
}
