/// numpy's `np.random.default_rng(seed).permutation(n)`, bit for bit: the generator Hugging Face `datasets`
/// uses in `Dataset.shuffle(seed:)`, so a job draws the same K-shot rows as the reference pipeline does for the
/// same seed. Three parts, each fixed by numpy's C source rather than by its documentation:
/// - `SeedSequence(seed)` hashes the seed's 32-bit words into a pool of four words and expands the pool into
///   the PCG64 seed and increment;
/// - PCG64 (128-bit LCG, XSL-RR output) hands out 64-bit draws, and 32-bit draws as the low then the high
///   half of one 64-bit draw;
/// - `shuffle` is Fisher–Yates from the last index down, each index drawn by masked rejection from 32-bit draws
///   (`random_interval`).
public struct NumpyPCG64: Sendable {
    private var state: UInt128Parts
    private let increment: UInt128Parts
    /// The unused high half of the last 64-bit draw, served by the next 32-bit draw.
    private var bufferedHalf: UInt32?

    public init(seed: UInt64) {
        let words = SeedSequence(entropy: seed).generateState(wordCount: 8)
        let seedWords = (0..<4).map { UInt64(words[2 * $0]) | UInt64(words[2 * $0 + 1]) << 32 }
        // numpy's pcg64_set_seed: the first of each pair is the high half.
        let initialState = UInt128Parts(high: seedWords[0], low: seedWords[1])
        let sequence = UInt128Parts(high: seedWords[2], low: seedWords[3])
        increment = UInt128Parts(high: sequence.high << 1 | sequence.low >> 63, low: sequence.low << 1 | 1)
        state = UInt128Parts(high: 0, low: 0)
        step()
        state = state.adding(initialState)
        step()
    }

    private static let multiplier = UInt128Parts(high: 0x2360_ED05_1FC6_5DA4, low: 0x4385_DF64_9FCC_F645)

    private mutating func step() {
        state = state.multiplied(by: NumpyPCG64.multiplier).adding(increment)
    }

    public mutating func next64() -> UInt64 {
        step()
        let folded = state.high ^ state.low
        let rotation = state.high >> 58
        return folded >> rotation | folded << ((64 - rotation) & 63)
    }

    public mutating func next32() -> UInt32 {
        if let half = bufferedHalf {
            bufferedHalf = nil
            return half
        }
        let draw = next64()
        bufferedHalf = UInt32(truncatingIfNeeded: draw >> 32)
        return UInt32(truncatingIfNeeded: draw)
    }

    /// Uniform in `0...maximum` by masked rejection (numpy's `random_interval`): 32-bit draws masked to the
    /// smallest all-ones value covering `maximum`, retried while above it. numpy switches to 64-bit draws above
    /// 2^32 − 1, which no train split reaches, so larger bounds are refused rather than carried untested.
    public mutating func interval(_ maximum: UInt32) -> UInt32 {
        guard maximum > 0 else { return 0 }
        let mask = UInt32.max >> maximum.leadingZeroBitCount
        while true {
            let value = next32() & mask
            if value <= maximum { return value }
        }
    }

    /// numpy's `Generator.shuffle` of a one-dimensional array.
    public mutating func shuffle<T>(_ elements: inout [T]) {
        guard elements.count > 1 else { return }
        precondition(elements.count <= Int(UInt32.max), "NumpyPCG64.shuffle: more than 2^32 − 1 elements")
        for i in stride(from: elements.count - 1, through: 1, by: -1) {
            elements.swapAt(i, Int(interval(UInt32(i))))
        }
    }

    /// `np.random.default_rng(seed).permutation(count)`.
    public static func permutation(count: Int, seed: UInt64) -> [Int] {
        var generator = NumpyPCG64(seed: seed)
        var indices = Array(0..<count)
        generator.shuffle(&indices)
        return indices
    }
}

/// A 128-bit unsigned integer as two words, with the two operations PCG64 needs (both modulo 2^128).
private struct UInt128Parts: Sendable {
    var high: UInt64
    var low: UInt64

    func adding(_ other: UInt128Parts) -> UInt128Parts {
        let (low, carry) = low.addingReportingOverflow(other.low)
        return UInt128Parts(high: high &+ other.high &+ (carry ? 1 : 0), low: low)
    }

    func multiplied(by other: UInt128Parts) -> UInt128Parts {
        let product = low.multipliedFullWidth(by: other.low)
        return UInt128Parts(high: product.high &+ high &* other.low &+ low &* other.high, low: product.low)
    }
}

/// numpy's `SeedSequence` for an integer entropy and no spawn key: the pool of four 32-bit words and its
/// expansion into state words.
struct SeedSequence {
    private static let poolSize = 4
    private static let initA: UInt32 = 0x43B0_D7E5
    private static let multA: UInt32 = 0x931E_8875
    private static let initB: UInt32 = 0x8B51_F9DD
    private static let multB: UInt32 = 0x58F3_8DED
    private static let mixMultL: UInt32 = 0xCA01_F9DD
    private static let mixMultR: UInt32 = 0x4973_F715
    private static let xShift: UInt32 = 16

    private var pool = [UInt32](repeating: 0, count: poolSize)

    init(entropy: UInt64) {
        // A Python int becomes its 32-bit words, least significant first (0 is one zero word). A 64-bit seed
        // has at most two words, fewer than the pool, so numpy's step for longer entropy never applies.
        var entropyWords: [UInt32] = [UInt32(truncatingIfNeeded: entropy)]
        if entropy >> 32 != 0 { entropyWords.append(UInt32(truncatingIfNeeded: entropy >> 32)) }
        var hashConstant = SeedSequence.initA
        func hashmix(_ value: UInt32) -> UInt32 {
            var value = value ^ hashConstant
            hashConstant &*= SeedSequence.multA
            value &*= hashConstant
            return value ^ value >> SeedSequence.xShift
        }
        func mix(_ x: UInt32, _ y: UInt32) -> UInt32 {
            let result = SeedSequence.mixMultL &* x &- SeedSequence.mixMultR &* y
            return result ^ result >> SeedSequence.xShift
        }
        for i in pool.indices {
            pool[i] = hashmix(i < entropyWords.count ? entropyWords[i] : 0)
        }
        for source in pool.indices {
            for destination in pool.indices where source != destination {
                pool[destination] = mix(pool[destination], hashmix(pool[source]))
            }
        }
    }

    /// `generate_state(wordCount, np.uint32)`: the pool cycled and hashed once more per output word.
    func generateState(wordCount: Int) -> [UInt32] {
        var hashConstant = SeedSequence.initB
        return (0..<wordCount).map { index in
            var value = pool[index % pool.count] ^ hashConstant
            hashConstant &*= SeedSequence.multB
            value &*= hashConstant
            return value ^ value >> SeedSequence.xShift
        }
    }
}
