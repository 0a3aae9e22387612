/// SplitMix64 (Steele, Lea, Flood 2014; Vigna's reference C code): a tiny seeded generator whose output is
/// fixed by its definition, so a seed gives the same stream on every platform and Swift version. It does not
/// conform to `RandomNumberGenerator` on purpose: the standard library's `shuffle(using:)` algorithm is not
/// specified and could change; `shuffle(_:)` below is.
public struct SplitMix64: Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound`, without modulo bias: draws below `2^64 mod bound` are rejected.
    public mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "SplitMix64.next(below:): bound must be positive")
        let threshold = (0 &- bound) % bound
        while true {
            let draw = next()
            if draw >= threshold { return draw % bound }
        }
    }

    /// Fisher–Yates (Durstenfeld): for i from the last index down to 1, swap element i with one drawn from 0...i.
    public mutating func shuffle<T>(_ elements: inout [T]) {
        guard elements.count > 1 else { return }
        for i in stride(from: elements.count - 1, through: 1, by: -1) {
            let j = Int(next(below: UInt64(i + 1)))
            elements.swapAt(i, j)
        }
    }
}
