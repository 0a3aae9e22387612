import Model
import Text

/// Builds the model's padded `Batch` from encoded examples. Its arrays keep their capacity from batch to batch:
/// a `Batch` shares their storage while the step runs and is released before the next fill, so after the first
/// batch no fill allocates.
struct BatchAssembler {
    let padding: Padding
    let maxSeqLength: Int
    let padId: Int32
    let isRegression: Bool
    private var ids: [Int32] = []
    private var types: [Int32] = []
    private var mask: [Int32] = []
    private var classes: [Int32] = []
    private var targets: [Float] = []

    init(maxBatch: Int, maxSeqLength: Int, padding: Padding, padId: Int, isRegression: Bool) {
        self.padding = padding
        self.maxSeqLength = maxSeqLength
        self.padId = Int32(padId)
        self.isRegression = isRegression
        ids.reserveCapacity(maxBatch * maxSeqLength)
        types.reserveCapacity(maxBatch * maxSeqLength)
        mask.reserveCapacity(maxBatch * maxSeqLength)
        classes.reserveCapacity(maxBatch)
        targets.reserveCapacity(maxBatch)
    }

    /// The examples `indices` of `split`, padded to their longest (dynamic) or to `maxSeqLength`. Not generic over
    /// the index collection: a debug build compiles files apart, so callers in other files would run the
    /// unspecialised body, whose element reads allocate.
    mutating func assemble(_ split: EncodedSplit, _ indices: ArraySlice<Int>) throws -> Batch {
        var length = maxSeqLength
        if padding == .dynamic {
            length = 0
            for index in indices { length = max(length, split.encodings[index].count) }
        }
        ids.removeAll(keepingCapacity: true)
        types.removeAll(keepingCapacity: true)
        mask.removeAll(keepingCapacity: true)
        classes.removeAll(keepingCapacity: true)
        targets.removeAll(keepingCapacity: true)
        for index in indices {
            let encoding = split.encodings[index]
            let pad = length - encoding.count
            for id in encoding.ids { ids.append(Int32(id)) }
            for type in encoding.typeIds { types.append(Int32(type)) }
            for bit in encoding.attentionMask { mask.append(Int32(bit)) }
            for _ in 0..<pad {
                ids.append(padId)
                types.append(0)
                mask.append(0)
            }
            if isRegression {
                targets.append(Float(split.labels[index].value))
            } else {
                classes.append(Int32(split.labels[index].category!))
            }
        }
        return try Batch(size: indices.count, seqLen: length, inputIds: ids, tokenTypeIds: types, attentionMask: mask,
                         labels: isRegression ? .values(targets) : .classes(classes))
    }
}
