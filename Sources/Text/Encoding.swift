/// One encoded input as BERT takes it: `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`.
public struct Encoding: Equatable, Sendable {
    /// Token ids.
    public var ids: [Int]
    /// Segment of each token: 0 for `[CLS]`, the first text and its `[SEP]`; 1 for the second text and its `[SEP]`.
    public var typeIds: [Int]
    /// 1 for real tokens, 0 for padding.
    public var attentionMask: [Int]

    public init(ids: [Int], typeIds: [Int], attentionMask: [Int]) {
        precondition(ids.count == typeIds.count && ids.count == attentionMask.count,
                     "Encoding: ids, typeIds and attentionMask must have the same length")
        self.ids = ids
        self.typeIds = typeIds
        self.attentionMask = attentionMask
    }

    public var count: Int { ids.count }

    /// This encoding padded on the right to `length` tokens with `padId`, type id 0 and mask 0 (HF's defaults).
    public func padded(to length: Int, padId: Int) -> Encoding {
        precondition(length >= count, "Encoding.padded: cannot pad \(count) tokens to \(length)")
        let padding = length - count
        return Encoding(ids: ids + repeatElement(padId, count: padding),
                        typeIds: typeIds + repeatElement(0, count: padding),
                        attentionMask: attentionMask + repeatElement(0, count: padding))
    }
}
