import Foundation

/// At most `capacity` values, the least recently used evicted first; a value is loaded once per residency,
/// under the cache's lock, so concurrent requests for one key load it once.
final class LRUCache<Key: Hashable, Value>: @unchecked Sendable {
    let capacity: Int
    private var values: [Key: Value] = [:]
    /// Keys from least to most recently used.
    private var recency: [Key] = []
    private let lock = NSLock()

    init(capacity: Int) {
        precondition(capacity >= 1, "an LRU cache holds at least one value")
        self.capacity = capacity
    }

    var keys: [Key] {
        lock.lock()
        defer { lock.unlock() }
        return recency
    }

    func value(for key: Key, load: () throws -> Value) rethrows -> Value {
        lock.lock()
        defer { lock.unlock() }
        if let value = values[key] {
            recency.removeAll { $0 == key }
            recency.append(key)
            return value
        }
        let value = try load()
        if recency.count == capacity { values[recency.removeFirst()] = nil }
        values[key] = value
        recency.append(key)
        return value
    }
}
