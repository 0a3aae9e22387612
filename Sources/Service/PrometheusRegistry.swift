import Foundation

/// Counters, gauges and histograms rendered in the Prometheus text exposition format (version 0.0.4)
/// for `GET /metrics`. Thread-safe: HTTP handlers and workers update it concurrently.
public final class PrometheusRegistry: @unchecked Sendable {
    private struct Family {
        let name: String
        let help: String
        let type: String
        var samples: [String: Double] = [:]           // rendered label set → value
        var histogramBuckets: [Double] = []
        var histogramCounts: [String: [UInt64]] = [:]  // label set → count per bucket (+Inf last)
        var histogramSums: [String: Double] = [:]
    }

    private let lock = NSLock()
    private var families: [String: Family] = [:]
    private var order: [String] = []
    /// Gauges read at scrape time (queue depth, jobs by status), so they are never stale.
    private var gaugeReaders: [(name: String, help: String, read: () -> [(labels: [String: String], value: Double)])] = []

    public init() {}

    private func family(_ name: String, help: String, type: String) -> Family {
        if let family = families[name] { return family }
        order.append(name)
        return Family(name: name, help: help, type: type)
    }

    public func increment(_ name: String, help: String, labels: [String: String] = [:], by amount: Double = 1) {
        lock.lock(); defer { lock.unlock() }
        var family = self.family(name, help: help, type: "counter")
        family.samples[Self.render(labels), default: 0] += amount
        families[name] = family
    }

    public func observe(_ name: String, help: String, buckets: [Double], value: Double, labels: [String: String] = [:]) {
        lock.lock(); defer { lock.unlock() }
        var family = self.family(name, help: help, type: "histogram")
        if family.histogramBuckets.isEmpty { family.histogramBuckets = buckets.sorted() }
        let key = Self.render(labels)
        var counts = family.histogramCounts[key] ?? Array(repeating: 0, count: family.histogramBuckets.count + 1)
        let index = family.histogramBuckets.firstIndex { value <= $0 } ?? family.histogramBuckets.count
        counts[index] += 1
        family.histogramCounts[key] = counts
        family.histogramSums[key, default: 0] += value
        families[name] = family
    }

    public func registerGauge(_ name: String, help: String,
                              read: @escaping () -> [(labels: [String: String], value: Double)]) {
        lock.lock(); defer { lock.unlock() }
        gaugeReaders.append((name, help, read))
    }

    public func render() -> String {
        lock.lock()
        let snapshot = order.compactMap { families[$0] }
        let readers = gaugeReaders
        lock.unlock()
        var text = ""
        for family in snapshot {
            text += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.type)\n"
            if family.type == "histogram" {
                for (labels, counts) in family.histogramCounts.sorted(by: { $0.key < $1.key }) {
                    var cumulative: UInt64 = 0
                    for (index, count) in counts.enumerated() {
                        cumulative += count
                        let bound = index < family.histogramBuckets.count ? Self.number(family.histogramBuckets[index]) : "+Inf"
                        text += "\(family.name)_bucket\(Self.merge(labels, "le=\"\(bound)\"")) \(cumulative)\n"
                    }
                    text += "\(family.name)_sum\(labels) \(Self.number(family.histogramSums[labels] ?? 0))\n"
                    text += "\(family.name)_count\(labels) \(cumulative)\n"
                }
            } else {
                for (labels, value) in family.samples.sorted(by: { $0.key < $1.key }) {
                    text += "\(family.name)\(labels) \(Self.number(value))\n"
                }
            }
        }
        for reader in readers {
            text += "# HELP \(reader.name) \(reader.help)\n# TYPE \(reader.name) gauge\n"
            for sample in reader.read() {
                text += "\(reader.name)\(Self.render(sample.labels)) \(Self.number(sample.value))\n"
            }
        }
        return text
    }

    /// `{a="x",b="y"}` with sorted keys and escaped values; empty for no labels.
    static func render(_ labels: [String: String]) -> String {
        guard !labels.isEmpty else { return "" }
        let pairs = labels.sorted { $0.key < $1.key }.map { key, value in
            let escaped = value.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
            return "\(key)=\"\(escaped)\""
        }
        return "{" + pairs.joined(separator: ",") + "}"
    }

    private static func merge(_ labels: String, _ extra: String) -> String {
        labels.isEmpty ? "{\(extra)}" : String(labels.dropLast()) + ",\(extra)}"
    }

    private static func number(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
