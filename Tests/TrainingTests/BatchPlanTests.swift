import Tensor
import XCTest
@testable import Training

final class BatchPlanTests: XCTestCase {
    private let lengths = (0..<103).map { 5 + ($0 * 37) % 60 }

    private func plan(_ padding: Padding, window: Int = 32, seed: UInt64 = 7) -> BatchPlan {
        var rng = RNG(seed: seed, stream: .dataOrder)
        return BatchPlan(lengths: lengths, batchSize: 8, padding: padding, bucketWindow: window, rng: &rng)
    }

    func testEveryExampleOnceAndOnlyTheLastBatchSmaller() {
        for padding in Padding.allCases {
            let p = plan(padding)
            XCTAssertEqual(p.order.sorted(), Array(lengths.indices))
            XCTAssertEqual(p.count, 13)
            XCTAssertEqual(p.batches.map(\.count).sorted(), [7] + Array(repeating: 8, count: 12))
        }
    }

    func testBucketingGroupsSimilarLengthsWithinAWindow() {
        let bucketed = plan(.dynamic), shuffled = plan(.maxLength)
        // Padding cost: Σ over batches of (max length × size) − real tokens.
        func padding(_ p: BatchPlan) -> Int {
            (0..<p.count).reduce(0) { sum, b in
                let lens = p.batch(b).map { lengths[$0] }
                return sum + lens.max()! * lens.count - lens.reduce(0, +)
            }
        }
        XCTAssertLessThan(padding(bucketed), padding(shuffled) / 2)
        XCTAssertLessThan(padding(plan(.dynamic, window: 200)), padding(bucketed) / 3, "a wider window pads less")
        // Each bucketed batch is sorted (it was cut from a sorted window).
        for b in 0..<bucketed.count {
            let lens = bucketed.batch(b).map { lengths[$0] }
            XCTAssertEqual(lens, lens.sorted())
        }
    }

    func testSameSeedSameOrderOtherSeedOtherOrder() {
        XCTAssertEqual(plan(.dynamic), plan(.dynamic))
        XCTAssertNotEqual(plan(.dynamic).order, plan(.dynamic, seed: 8).order)
        XCTAssertNotEqual(plan(.maxLength).order, plan(.maxLength, seed: 8).order)
    }

    func testConsecutiveEpochsDifferAndReplayFromTheSavedState() {
        var rng = RNG(seed: 3, stream: .dataOrder)
        let first = BatchPlan(lengths: lengths, batchSize: 8, padding: .dynamic, bucketWindow: 32, rng: &rng)
        let savedState = rng.state
        let second = BatchPlan(lengths: lengths, batchSize: 8, padding: .dynamic, bucketWindow: 32, rng: &rng)
        XCTAssertNotEqual(first.order, second.order)
        var restored = RNG(state: savedState)
        XCTAssertEqual(BatchPlan(lengths: lengths, batchSize: 8, padding: .dynamic, bucketWindow: 32, rng: &restored),
                       second)
    }
}
