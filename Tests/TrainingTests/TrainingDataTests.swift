import Foundation
import Text
import XCTest
@testable import Training

final class TrainingDataTests: XCTestCase {
    private func load(_ k: Int, glue: String = TrainingFixtures.glueDirectory, devSize: Int = 10) throws -> TrainingData {
        try TrainingData.load(task: .rte, size: .k(k), seed: 1, split: .official, glueDirectory: glue, tokenizer: TrainingFixtures.tokenizer,
                              maxSeqLength: 128, devSize: devSize)
    }

    func testKShotSplitSizes() throws {
        let data = try load(20)
        XCTAssertEqual([data.train.count, data.dev.count, data.test.count], [20, 10, 20])
        XCTAssertEqual(data.padId, TrainingFixtures.tokenizer.padId)
    }

    func testTooLargeKNamesTheMaximum() {
        XCTAssertThrowsError(try load(31)) { error in
            guard case let .invalidK(k, maximum, _)? = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertEqual(k, 31)
            XCTAssertEqual(maximum, 30, "40 fixture rows − 10 dev rows")
            XCTAssertEqual((error as! TrainingError).code, "invalid_k")
        }
    }

    func testMissingDataNamesThePath() {
        XCTAssertThrowsError(try load(10, glue: "/nonexistent/glue")) { error in
            XCTAssertEqual(error as? TrainingError, .missingData(path: "/nonexistent/glue"))
        }
    }

    /// The real GLUE data, when this machine has it (it is not in the repository).
    func testRealRTEProtocolWhenGLUEIsPresent() throws {
        let glue = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/glue").standardized.path
        guard FileManager.default.fileExists(atPath: glue + "/RTE") else {
            print("skip: no GLUE data at \(glue)")
            throw XCTSkip("no GLUE data at \(glue)")
        }
        let data = try TrainingData.load(task: .rte, size: .k(100), seed: 1, split: .official, glueDirectory: glue,
                                         tokenizer: TrainingFixtures.tokenizer, maxSeqLength: 128)
        XCTAssertEqual([data.train.count, data.dev.count, data.test.count], [100, 1000, 277])
        XCTAssertThrowsError(try TrainingData.load(task: .rte, size: .k(1491), seed: 1, split: .official, glueDirectory: glue,
                                                   tokenizer: TrainingFixtures.tokenizer, maxSeqLength: 128)) { error in
            guard case let .invalidK(_, maximum, _)? = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertEqual(maximum, 1490)
        }
    }
}
