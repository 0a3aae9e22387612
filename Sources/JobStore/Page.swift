/// One page of a list: at most `limit` items and whether more follow.
public struct Page<Item: Equatable & Sendable>: Equatable, Sendable {
    public let items: [Item]
    public let hasMore: Bool

    /// From `limit + 1` fetched rows: the extra row only says that more follow.
    init(_ rows: [Item], limit: Int) {
        items = Array(rows.prefix(limit))
        hasMore = rows.count > limit
    }
}
