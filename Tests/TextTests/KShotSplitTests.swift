import XCTest
@testable import Text

/// The data protocol: a seeded shuffle of the train split, first K for training, next `devSize` for dev.
final class KShotSplitTests: XCTestCase {
    private struct SplitGolden: Decodable {
        struct Shuffle: Decodable {
            let seed: String
            let count: Int
            let permutation: [Int]
        }

        let splitmix64_seed_1234567: [String]
        let shuffles: [Shuffle]
    }

    func testSplitMix64AndShuffleMatchThePythonReference() throws {
        let golden = try Golden.decode(SplitGolden.self, from: "split_golden.json")
        var generator = SplitMix64(seed: 1234567)
        XCTAssertEqual((0..<5).map { _ in String(generator.next()) }, golden.splitmix64_seed_1234567)
        XCTAssertFalse(golden.shuffles.isEmpty)
        for shuffle in golden.shuffles {
            var items = Array(0..<shuffle.count)
            var generator = SplitMix64(seed: try XCTUnwrap(UInt64(shuffle.seed)))
            generator.shuffle(&items)
            XCTAssertEqual(items, shuffle.permutation, "seed \(shuffle.seed), count \(shuffle.count)")
        }
    }

    private func rows(_ count: Int) -> [GLUEExample] {
        (0..<count).map { GLUEExample(text: "row \($0)", pair: nil, label: .category($0 % 2), line: $0 + 2) }
    }

    func testKShotIsTheFirstKThenTheNextDevSizeOfOneSeededShuffle() throws {
        let train = rows(1500)
        let test = rows(7)
        let split = try KShotSplit.make(task: .rte, trainRows: train, testRows: test, size: .k(100), seed: 3, kind: .splitmix)
        XCTAssertEqual(split.train.count, 100)
        XCTAssertEqual(split.dev.count, KShotSplit.standardDevSize)
        XCTAssertEqual(split.test, test)

        var order = train
        var generator = SplitMix64(seed: 3)
        generator.shuffle(&order)
        XCTAssertEqual(split.train, Array(order[0..<100]))
        XCTAssertEqual(split.dev, Array(order[100..<1100]))
        XCTAssertTrue(Set(split.train.map(\.line)).isDisjoint(with: split.dev.map(\.line)))
    }

    func testSameSeedGivesTheSameSplitAndOtherSeedsDiffer() throws {
        let dataset = try GLUEDataset.load(task: .mrpc, glueDirectory: Golden.glueFixture)
        let make = { (seed: UInt64) in try KShotSplit.make(dataset: dataset, size: .k(10), seed: seed, kind: .official, devSize: 20) }
        XCTAssertEqual(try make(1).train, try make(1).train)
        XCTAssertEqual(try make(1).dev, try make(1).dev)
        XCTAssertNotEqual(try make(1).train, try make(2).train)
        XCTAssertEqual(try make(1).test, dataset.validation.examples)
    }

    func testAllTrainsOnTheWholeSplitAndUsesTheGLUEDevFileAsDevAndTest() throws {
        let dataset = try GLUEDataset.load(task: .stsb, glueDirectory: Golden.glueFixture)
        let split = try KShotSplit.make(dataset: dataset, size: .all, seed: 5, kind: .official)
        XCTAssertEqual(split.train.map(\.line).sorted(), dataset.train.examples.map(\.line))
        XCTAssertEqual(split.dev, dataset.validation.examples)
        XCTAssertEqual(split.test, dataset.validation.examples)
    }

    func testKMustLeaveTheDevSetAndBePositive() throws {
        let train = rows(1200)
        XCTAssertNoThrow(try KShotSplit.make(task: .qqp, trainRows: train, testRows: [], size: .k(200), seed: 1, kind: .official))
        XCTAssertThrowsError(try KShotSplit.make(task: .qqp, trainRows: train, testRows: [], size: .k(201), seed: 1, kind: .official)) {
            XCTAssertEqual($0 as? TextError,
                           .trainingSizeTooLarge(task: .qqp, k: 201, maximum: 200, trainRows: 1200, devSize: 1000))
            XCTAssertTrue("\($0)".contains("at most 200"), "\($0)")
        }
        XCTAssertThrowsError(try KShotSplit.make(task: .qqp, trainRows: train, testRows: [], size: .k(0), seed: 1, kind: .official)) {
            XCTAssertEqual($0 as? TextError, .invalidTrainingSize(k: 0))
        }
    }
}
