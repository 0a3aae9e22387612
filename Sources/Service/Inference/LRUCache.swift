import Foundation

/// At most `capacity` values and, beyond the most recent one, at most `budget` in total `cost`; the least
/// recently used go first. A value is loaded once per residency, under the cache's lock, so concurrent requests
/// for one key load it once.
final class LRUCache<Key: Hashable, Value>: @unchecked Sendable {
    let capacity: Int
    let budget: Int
    private let cost: (Value) -> Int
    private var values: [Key: (value: Value, cost: Int)] = [:]
    /// Keys from least to most recently used.
    private var recency: [Key] = []
    private let lock = NSLock()

    init(capacity: Int, budget: Int = .max, cost: @escaping (Value) -> Int = { _ in 0 }) {
        precondition(capacity >= 1, "an LRU cache holds at least one value")
        self.capacity = capacity
        self.budget = budget
        self.cost = cost
    }

    var keys: [Key] {
        lock.lock()
        defer { lock.unlock() }
        return recency
    }

    /// The cost of every value held.
    var totalCost: Int {
        lock.lock()
        defer { lock.unlock() }
        return values.values.reduce(0) { $0 + $1.cost }
    }

    func value(for key: Key, load: () throws -> Value) rethrows -> Value {
        lock.lock()
        defer { lock.unlock() }
        if let entry = values[key] {
            recency.removeAll { $0 == key }
            recency.append(key)
            return entry.value
        }
        let value = try load()
        let entry = (value: value, cost: cost(value))
        var total = values.values.reduce(entry.cost) { $0 + $1.cost }
        while let oldest = recency.first, recency.count >= capacity || total > budget {
            total -= values.removeValue(forKey: oldest)!.cost
            recency.removeFirst()
        }
        values[key] = entry
        recency.append(key)
        return value
    }
}
