import Foundation

/// The complete state of an `RNG`, for checkpoints: restoring it resumes the exact same sequence.
public struct RNGState: Codable, Equatable, Sendable {
    public var s0, s1, s2, s3: UInt64

    public init(s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64) {
        self.s0 = s0; self.s1 = s1; self.s2 = s2; self.s3 = s3
    }

    /// Four little-endian words, e.g. for a safetensors metadata entry.
    public var words: [UInt64] { [s0, s1, s2, s3] }
}

/// Named streams derived from one job seed, so that adding dropout draws never shifts the init or the data order.
public enum RNGStream: UInt64, Sendable {
    case initialization = 1
    case dropout = 2
    case dataOrder = 3
}

/// xoshiro256** (Blackman & Vigna): 256-bit state, period 2²⁵⁶−1, passes BigCrush, ~1 ns per draw.
/// Seeded through SplitMix64 so that nearby seeds and stream ids give unrelated states.
public struct RNG: RandomNumberGenerator, Sendable {
    public private(set) var state: RNGState

    /// The generator for `stream` of job `seed`.
    public init(seed: UInt64, stream: UInt64 = 0) {
        // Mixing the stream id through one SplitMix64 step before combining keeps (seed, stream) pairs apart.
        var mixer = seed ^ RNG.splitMix(stream &* 0x9E37_79B9_7F4A_7C15 &+ 0xD1B5_4A32_D192_ED03)
        state = RNGState(s0: RNG.splitMixNext(&mixer), s1: RNG.splitMixNext(&mixer),
                         s2: RNG.splitMixNext(&mixer), s3: RNG.splitMixNext(&mixer))
        if state.words.allSatisfy({ $0 == 0 }) { state.s0 = 1 }  // the one forbidden state
    }

    public init(seed: UInt64, stream: RNGStream) { self.init(seed: seed, stream: stream.rawValue) }

    /// Resumes from a saved state. The all-zero state cannot occur from seeding and is rejected.
    public init(state: RNGState) {
        precondition(state.words.contains { $0 != 0 }, "the all-zero xoshiro state is invalid")
        self.state = state
    }

    /// SplitMix64's output function (Steele, Lea & Flood), also the counter-based draw of dropout masks.
    @inline(__always)
    static func splitMix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private static func splitMixNext(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        return splitMix(x)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotate(state.s1 &* 5, 7) &* 9
        let t = state.s1 << 17
        state.s2 ^= state.s0
        state.s3 ^= state.s1
        state.s1 ^= state.s2
        state.s0 ^= state.s3
        state.s2 ^= t
        state.s3 = rotate(state.s3, 45)
        return result
    }

    @inline(__always)
    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 24 random bits (every Float in the grid k·2⁻²⁴ is equally likely).
    @inline(__always)
    public mutating func nextFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [a, b).
    @inline(__always)
    public mutating func uniform(_ a: Float, _ b: Float) -> Float { a + (b - a) * nextFloat() }

    /// One N(mean, std²) sample (Box–Muller; the second value of the pair is discarded so that the state
    /// alone describes the generator).
    public mutating func normal(mean: Float = 0, std: Float = 1) -> Float {
        let (z, _) = normalPair()
        return mean + std * z
    }

    /// Two independent standard normals from two uniforms; u1 ∈ (0, 1] so the log is finite.
    @inline(__always)
    private mutating func normalPair() -> (Float, Float) {
        let u1 = 1 - Double(next() >> 11) * 0x1p-53
        let u2 = Double(next() >> 11) * 0x1p-53
        let radius = (-2 * Foundation.log(u1)).squareRoot()
        let angle = 2 * Double.pi * u2
        return (Float(radius * Foundation.cos(angle)), Float(radius * Foundation.sin(angle)))
    }

    /// Fills `count` floats with N(mean, std²) (both Box–Muller values used).
    public mutating func fillNormal(_ p: UnsafeMutablePointer<Float>, _ count: Int, mean: Float = 0, std: Float) {
        var i = 0
        while i < count {
            let (a, b) = normalPair()
            p[i] = mean + std * a
            if i + 1 < count { p[i + 1] = mean + std * b }
            i += 2
        }
    }

    /// Fills `count` floats uniformly in [a, b).
    public mutating func fillUniform(_ p: UnsafeMutablePointer<Float>, _ count: Int, from a: Float, to b: Float) {
        for i in 0..<count { p[i] = uniform(a, b) }
    }
}
