import Foundation
import Text
import XCTest
@testable import Training
import TestSupport

final class TrainingDataCacheTests: XCTestCase {
    private var glue: String!

    /// A private copy of the fixture GLUE folder, so a test may rewrite a file.
    override func setUpWithError() throws {
        glue = try makeTemporaryDirectory("cache-glue").path
        let task = GLUETask.sst2.directoryName
        try FileManager.default.copyItem(atPath: TrainingFixtures.glueDirectory + "/" + task, toPath: glue + "/" + task)
    }

    private func load(_ cache: TrainingDataCache, seed: UInt64 = 1, k: Int = 16) throws -> TrainingData {
        try cache.load(task: .sst2, size: .k(k), seed: seed, split: .official, glueDirectory: glue,
                       tokenizer: TrainingFixtures.tokenizer, tokenizerKey: "fixture", maxSeqLength: 16, devSize: 8)
    }

    private func assertSame(_ a: TrainingData, _ b: TrainingData, file: StaticString = #filePath, line: UInt = #line) {
        for (x, y) in [(a.train, b.train), (a.dev, b.dev), (a.test, b.test)] {
            XCTAssertEqual(x.encodings, y.encodings, file: file, line: line)
            XCTAssertEqual(x.labels, y.labels, file: file, line: line)
        }
        XCTAssertEqual(a.trainRows, b.trainRows, file: file, line: line)
        XCTAssertEqual(a.devRows, b.devRows, file: file, line: line)
    }

    func testOneReadAndOneBuildPerKeyAndTheSameDataAsALoad() throws {
        let cache = TrainingDataCache(capacity: 4)
        let first = try load(cache)
        let again = try load(cache)
        XCTAssertEqual(cache.datasetReads, 1)
        XCTAssertEqual(cache.dataBuilds, 1)
        assertSame(first, again)
        let direct = try TrainingData.load(task: .sst2, size: .k(16), seed: 1, split: .official, glueDirectory: glue,
                                           tokenizer: TrainingFixtures.tokenizer, maxSeqLength: 16, devSize: 8)
        assertSame(first, direct)

        // Another seed draws other rows from the same files and shares the encoded test split.
        let other = try load(cache, seed: 2)
        XCTAssertEqual(cache.datasetReads, 1)
        XCTAssertEqual(cache.dataBuilds, 2)
        XCTAssertNotEqual(other.trainRows, first.trainRows)
        XCTAssertEqual(other.test.encodings, first.test.encodings)
    }

    func testAChangedFileIsReadAgainAndOldEntriesAreForgotten() throws {
        let cache = TrainingDataCache(capacity: 2)
        _ = try load(cache)
        let train = glue + "/" + GLUETask.sst2.directoryName + "/train.tsv"
        var text = try String(contentsOfFile: train, encoding: .utf8)
        text += text.split(separator: "\n").last.map { String($0) + "\n" } ?? ""
        try text.write(toFile: train, atomically: true, encoding: .utf8)
        _ = try load(cache)
        XCTAssertEqual(cache.datasetReads, 2, "the rewritten file is read again")

        _ = try load(cache, seed: 2)
        _ = try load(cache, seed: 3)
        let builds = cache.dataBuilds
        _ = try load(cache, seed: 1)
        XCTAssertEqual(cache.dataBuilds, builds + 1, "capacity 2: seed 1 was forgotten")
        _ = try load(cache, seed: 3)
        XCTAssertEqual(cache.dataBuilds, builds + 1, "seed 3 is still held")
    }

    /// The count a K is checked against at sweep creation is the number of examples a job's split draws from,
    /// and it follows a rewritten file.
    func testTrainExampleCountIsWhatTheSplitDrawsFrom() throws {
        let cache = TrainingDataCache(capacity: 2)
        let count = try cache.trainExampleCount(task: .sst2, glueDirectory: glue)
        let dataset = try TrainingData.readDataset(task: .sst2, glueDirectory: glue)
        XCTAssertEqual(count, dataset.train.examples.count)
        XCTAssertNoThrow(try load(cache, k: KShotSplit.maximumK(trainRows: count, devSize: 8)))
        XCTAssertThrowsError(try load(cache, k: KShotSplit.maximumK(trainRows: count, devSize: 8) + 1))
        let train = glue + "/" + GLUETask.sst2.directoryName + "/train.tsv"
        let text = try String(contentsOfFile: train, encoding: .utf8)
        try (text + (text.split(separator: "\n").last.map { String($0) + "\n" } ?? "")).write(toFile: train, atomically: true, encoding: .utf8)
        XCTAssertEqual(try cache.trainExampleCount(task: .sst2, glueDirectory: glue), count + 1)
    }

    func testMissingDataNamesThePath() {
        let cache = TrainingDataCache(capacity: 2)
        XCTAssertThrowsError(try cache.load(task: .rte, size: .k(16), seed: 1, split: .official, glueDirectory: glue,
                                            tokenizer: TrainingFixtures.tokenizer, tokenizerKey: "fixture",
                                            maxSeqLength: 16)) { error in
            guard case let .missingData(path)? = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("RTE"), path)
        }
    }
}
