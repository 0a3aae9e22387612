import Tensor
import XCTest
@testable import Training

final class BatchPlanTests: XCTestCase {
    private let lengths = (0..<103).map { 5 + ($0 * 37) % 60 }

    /// `window` nil: `batching: shuffle`; set: `length_buckets` with that window.
    private func plan(window: Int? = nil, seed: UInt64 = 7) -> BatchPlan {
        var rng = RNG(seed: seed, stream: .dataOrder)
        return BatchPlan(lengths: lengths, batchSize: 8, bucketWindow: window, rng: &rng)
    }

    /// `count` consecutive epochs' plans from one data-order stream, as the trainer draws them.
    private func epochs(_ count: Int, lengths: [Int]? = nil, window: Int? = nil, seed: UInt64) -> [BatchPlan] {
        var rng = RNG(seed: seed, stream: .dataOrder)
        return (0..<count).map { _ in
            BatchPlan(lengths: lengths ?? self.lengths, batchSize: 8, bucketWindow: window, rng: &rng)
        }
    }

    /// Which examples share a batch, regardless of the batches' order or the order inside one.
    private func membership(_ p: BatchPlan) -> Set<Set<Int>> {
        Set((0..<p.count).map { Set(p.batch($0)) })
    }

    func testEveryExampleOnceAndOnlyTheLastBatchSmaller() {
        for window: Int? in [nil, 32] {
            let p = plan(window: window)
            XCTAssertEqual(p.order.sorted(), Array(lengths.indices))
            XCTAssertEqual(p.count, 13)
            XCTAssertEqual(p.batches.map(\.count).sorted(), [7] + Array(repeating: 8, count: 12))
        }
    }

    func testBucketingGroupsSimilarLengthsWithinAWindow() {
        let bucketed = plan(window: 32), shuffled = plan()
        // Padding cost: Σ over batches of (max length × size) − real tokens.
        func padding(_ p: BatchPlan) -> Int {
            (0..<p.count).reduce(0) { sum, b in
                let lens = p.batch(b).map { lengths[$0] }
                return sum + lens.max()! * lens.count - lens.reduce(0, +)
            }
        }
        XCTAssertLessThan(padding(bucketed), padding(shuffled) / 2)
        XCTAssertLessThan(padding(plan(window: 200)), padding(bucketed) / 3, "a wider window pads less")
        // Each bucketed batch is sorted (it was cut from a sorted window).
        for b in 0..<bucketed.count {
            let lens = bucketed.batch(b).map { lengths[$0] }
            XCTAssertEqual(lens, lens.sorted())
        }
    }

    func testSameSeedSameOrderOtherSeedOtherOrder() {
        for window: Int? in [nil, 32] {
            XCTAssertEqual(plan(window: window), plan(window: window))
            XCTAssertNotEqual(plan(window: window).order, plan(window: window, seed: 8).order)
        }
    }

    /// The default batching draws new batches every epoch, the same ones again for the same seed.
    func testShuffleBatchingChangesBatchMembershipEveryEpochAndRepeatsItForTheSameSeed() {
        let run = epochs(4, seed: 3).map(membership)
        XCTAssertEqual(Set(run).count, run.count, "every epoch has its own batches")
        for (earlier, later) in zip(run, run.dropFirst()) {
            XCTAssertFalse(earlier.isSubset(of: later) && later.isSubset(of: earlier))
            XCTAssertLessThan(earlier.intersection(later).count, 2, "hardly a batch survives into the next epoch")
        }
        XCTAssertEqual(epochs(4, seed: 3).map(membership), run)
        XCTAssertNotEqual(epochs(4, seed: 4).map(membership), run)
    }

    /// Why shuffle is the default: when all examples fit in one bucket window, length buckets make the same
    /// batches every epoch (only their order changes). Distinct lengths: ties may still swap between batches.
    func testLengthBucketsWithKWithinOneWindowRepeatTheSameBatches() {
        let distinct = (0..<100).map { 5 + ($0 * 37) % 100 }
        let run = epochs(3, lengths: distinct, window: 256, seed: 3)
        XCTAssertEqual(Set(run.map(membership)).count, 1)
        XCTAssertNotEqual(run[0].batches, run[1].batches, "only the order of the batches changes")
    }

    func testConsecutiveEpochsDifferAndReplayFromTheSavedState() {
        for window: Int? in [nil, 32] {
            var rng = RNG(seed: 3, stream: .dataOrder)
            let first = BatchPlan(lengths: lengths, batchSize: 8, bucketWindow: window, rng: &rng)
            let savedState = rng.state
            let second = BatchPlan(lengths: lengths, batchSize: 8, bucketWindow: window, rng: &rng)
            XCTAssertNotEqual(first.order, second.order)
            var restored = RNG(state: savedState)
            XCTAssertEqual(BatchPlan(lengths: lengths, batchSize: 8, bucketWindow: window, rng: &restored), second)
        }
    }
}
