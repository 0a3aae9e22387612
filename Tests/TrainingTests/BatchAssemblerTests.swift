import Model
import Text
import XCTest
@testable import Training

final class BatchAssemblerTests: XCTestCase {
    func testDynamicPaddingPadsToTheLongestOfTheBatch() throws {
        let data = try TrainingFixtures.data(.sst2, maxSeqLength: 64)
        var assembler = BatchAssembler(maxBatch: 4, maxSeqLength: 64, padding: .dynamic, padId: data.padId,
                                       isRegression: false)
        let indices = [3, 0, 7]
        let batch = try assembler.assemble(data.train, indices[...])
        let lengths = indices.map { data.train.encodings[$0].count }
        XCTAssertEqual(batch.size, 3)
        XCTAssertEqual(batch.seqLen, lengths.max())
        for (row, index) in indices.enumerated() {
            let encoding = data.train.encodings[index]
            let ids = batch.inputIds[(row * batch.seqLen)..<((row + 1) * batch.seqLen)]
            XCTAssertEqual(Array(ids.prefix(encoding.count)), encoding.ids.map(Int32.init))
            XCTAssertTrue(ids.dropFirst(encoding.count).allSatisfy { $0 == Int32(data.padId) })
            let mask = batch.attentionMask[(row * batch.seqLen)..<((row + 1) * batch.seqLen)]
            XCTAssertEqual(mask.reduce(0, +), Int32(encoding.count))
        }
        XCTAssertEqual(batch.labels, .classes(indices.map { Int32(data.train.labels[$0].category!) }))
    }

    func testMaxLengthPaddingAlwaysPadsToMaxSeqLength() throws {
        let data = try TrainingFixtures.data(.sst2, maxSeqLength: 40)
        var assembler = BatchAssembler(maxBatch: 4, maxSeqLength: 40, padding: .maxLength, padId: data.padId,
                                       isRegression: false)
        let batch = try assembler.assemble(data.train, [1, 2][...])
        XCTAssertEqual(batch.seqLen, 40)
        XCTAssertEqual(batch.inputIds.count, 80)
    }

    func testPairTasksEncodeBothSentencesAndTruncateToMaxSeqLength() throws {
        let data = try TrainingFixtures.data(.rte, maxSeqLength: 32)
        XCTAssertEqual(data.train.longest, 32, "RTE premises are long: every example is truncated to 32")
        var assembler = BatchAssembler(maxBatch: 2, maxSeqLength: 32, padding: .dynamic, padId: data.padId,
                                       isRegression: false)
        let batch = try assembler.assemble(data.train, [0, 1][...])
        // Segment B (type 1) is present and ends with [SEP].
        for row in 0..<2 {
            let types = batch.tokenTypeIds[(row * 32)..<((row + 1) * 32)]
            XCTAssertTrue(types.contains(1))
            let lastOfB = types.lastIndex(of: 1)!
            XCTAssertEqual(batch.inputIds[lastOfB], Int32(TrainingFixtures.tokenizer.sepId))
        }
    }

    func testRegressionTargetsAreScores() throws {
        let data = try TrainingFixtures.data(.stsb, maxSeqLength: 32)
        var assembler = BatchAssembler(maxBatch: 2, maxSeqLength: 32, padding: .dynamic, padId: data.padId,
                                       isRegression: true)
        let batch = try assembler.assemble(data.train, [0, 1][...])
        XCTAssertEqual(batch.labels, .values([0, 1].map { Float(data.train.labels[$0].value) }))
    }
}
