import Tensor

/// The order of one epoch: which examples form each batch. Made once per epoch from the data-order RNG, so an
/// epoch is replayed exactly from the RNG state saved at its start (resume) and the step itself never allocates.
public struct BatchPlan: Equatable, Sendable {
    /// Example indices, batch after batch.
    public let order: [Int]
    /// Each batch's slice of `order`.
    public let batches: [Range<Int>]

    /// - `bucketWindow` nil (the default `batching: shuffle`): shuffle, cut into batches. Every epoch draws new
    ///   batches, as standard SGD and the reference code do; each batch is then padded to its own longest example.
    /// - `bucketWindow` set (`batching: length_buckets`): shuffle, sort windows of `bucketWindow` examples
    ///   (rounded up to whole batches) by length, cut each window into batches, shuffle the batches. Similar
    ///   lengths share a batch, so little padding for large K; but when K fits in one window every epoch makes
    ///   the same batches (only their order changes).
    /// The last batch may be smaller (HF's `drop_last=False`).
    public init(lengths: [Int], batchSize: Int, bucketWindow: Int?, rng: inout RNG) {
        var order = Array(lengths.indices)
        BatchPlan.shuffle(&order, rng: &rng)
        var batches = stride(from: 0, to: order.count, by: batchSize).map { $0..<min($0 + batchSize, order.count) }
        if let bucketWindow {
            let window = max(1, (bucketWindow + batchSize - 1) / batchSize) * batchSize
            for start in stride(from: 0, to: order.count, by: window) {
                let end = min(start + window, order.count)
                // Stable: ties keep their shuffled order, so equal-length examples still mix between epochs.
                let sorted = order[start..<end].enumerated()
                    .sorted { (lengths[$0.element], $0.offset) < (lengths[$1.element], $1.offset) }
                    .map(\.element)
                order.replaceSubrange(start..<end, with: sorted)
            }
            BatchPlan.shuffle(&batches, rng: &rng)
        }
        self.order = order
        self.batches = batches
    }

    public var count: Int { batches.count }

    public func batch(_ index: Int) -> ArraySlice<Int> { order[batches[index]] }

    /// Fisher–Yates with Lemire's multiply-shift bound: the same draws on every platform and Swift version
    /// (the standard library's `shuffle(using:)` does not promise its algorithm).
    static func shuffle<Element>(_ elements: inout [Element], rng: inout RNG) {
        guard elements.count > 1 else { return }
        for i in stride(from: elements.count - 1, to: 0, by: -1) {
            let j = Int(rng.next().multipliedFullWidth(by: UInt64(i + 1)).high)
            elements.swapAt(i, j)
        }
    }
}
