import XCTest
@testable import Text

/// `split: official` against numpy, through the golden file `Tests/Scripts/split_parity.py --write-golden`
/// writes (the script itself compares every task and seeds 1–10 index by index against `unipelt split`).
final class NumpyPermutationTests: XCTestCase {
    private struct NumpyGolden: Decodable {
        struct Words: Decodable { let seed: String; let words: [UInt32] }
        struct Draws: Decodable { let seed: String; let draws: [String] }
        struct Permutation: Decodable { let seed: String; let count: Int; let permutation: [Int] }
        struct TaskSplit: Decodable {
            let task: String
            let train_size: Int
            let seed: UInt64
            let train_head: [Int]
            let dev_head: [Int]
            let weighted_sum: Int
        }

        let seed_sequence: [Words]
        let pcg64_raw: [Draws]
        let small_permutations: [Permutation]
        let tasks: [TaskSplit]
    }

    private static let golden = Result { try Golden.decode(NumpyGolden.self, from: "numpy_split_golden.json") }

    func testSeedSequenceAndPCG64DrawsMatchNumpy() throws {
        let golden = try Self.golden.get()
        XCTAssertFalse(golden.seed_sequence.isEmpty)
        for entry in golden.seed_sequence {
            let seed = try XCTUnwrap(UInt64(entry.seed))
            XCTAssertEqual(SeedSequence(entropy: seed).generateState(wordCount: 8), entry.words, "seed \(seed)")
        }
        for entry in golden.pcg64_raw {
            var generator = NumpyPCG64(seed: try XCTUnwrap(UInt64(entry.seed)))
            XCTAssertEqual(entry.draws.map { _ in String(generator.next64()) }, entry.draws, "seed \(entry.seed)")
        }
    }

    func testPermutationsMatchNumpy() throws {
        let golden = try Self.golden.get()
        for entry in golden.small_permutations {
            let seed = try XCTUnwrap(UInt64(entry.seed))
            XCTAssertEqual(NumpyPCG64.permutation(count: entry.count, seed: seed), entry.permutation,
                           "seed \(seed), count \(entry.count)")
        }
    }

    /// Every GLUE task's train size with seeds 1–10: the K=100 split's first train and dev rows, and a
    /// fingerprint of the whole permutation.
    func testEveryTaskSplitMatchesNumpy() throws {
        let golden = try Self.golden.get()
        XCTAssertEqual(Set(golden.tasks.map(\.task)), Set(GLUETask.allNames))
        for entry in golden.tasks {
            let order = SplitKind.official.permutation(count: entry.train_size, seed: entry.seed)
            let context = "\(entry.task), \(entry.train_size) rows, seed \(entry.seed)"
            XCTAssertEqual(Array(order.prefix(entry.train_head.count)), entry.train_head, context)
            XCTAssertEqual(Array(order[100..<(100 + entry.dev_head.count)]), entry.dev_head, context)
            XCTAssertEqual(order.enumerated().reduce(0) { $0 + ($1.offset + 1) * $1.element }, entry.weighted_sum, context)
        }
    }

    func testOfficialSplitTakesKThenDevFromThePermutationAndRecordsTheRows() throws {
        let rows = (0..<1500).map { GLUEExample(text: "row \($0)", pair: nil, label: .category($0 % 2), line: $0 + 2) }
        let split = try KShotSplit.make(task: .rte, trainRows: rows, testRows: [], size: .k(100), seed: 4,
                                        kind: .official)
        let order = NumpyPCG64.permutation(count: 1500, seed: 4)
        XCTAssertEqual(split.trainRows, Array(order[..<100]))
        XCTAssertEqual(split.devRows, Array(order[100..<1100]))
        XCTAssertEqual(split.train, split.trainRows.map { rows[$0] })
        XCTAssertEqual(split.dev, split.devRows.map { rows[$0] })
        let old = try KShotSplit.make(task: .rte, trainRows: rows, testRows: [], size: .k(100), seed: 4, kind: .splitmix)
        XCTAssertNotEqual(old.trainRows, split.trainRows, "the two kinds draw different rows")
    }
}
