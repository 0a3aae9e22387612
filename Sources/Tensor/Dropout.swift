/// Inverted dropout. The mask holds the per-element scale, 0 or 1/(1−p), so forward and backward are one
/// multiply each and backward reuses exactly the forward's draw.
public enum Dropout {
    /// Draws a fresh mask: each element kept with probability 1−p (scale 1/(1−p)), else 0. It takes one
    /// 64-bit key from `rng` and fills from it (below). p = 0 gives all ones and draws nothing (eval mode
    /// and dropout-free runs stay RNG-neutral).
    public static func makeMask(_ mask: UnsafeMutablePointer<Float>, count: Int, probability p: Float,
                                rng: inout RNG) {
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1), got \(p)")
        if p == 0 { Buffer.fill(mask, count, 1); return }
        makeMask(mask, count: count, probability: p, key: rng.next(), first: 0)
    }

    /// Elements first..<first+count of the mask drawn from `key`. Element i depends only on (key, i), so
    /// blocks of one mask can be filled concurrently, in any split, with the same result: word ⌊i/2⌋ is
    /// SplitMix64 at counter key + ⌊i/2⌋·γ, and its two 24-bit halves decide elements 2⌊i/2⌋ and 2⌊i/2⌋+1.
    public static func makeMask(_ mask: UnsafeMutablePointer<Float>, count: Int, probability p: Float,
                                key: UInt64, first: Int) {
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1), got \(p)")
        // Compare 24-bit integers, not floats: exact, and p = 0 always keeps.
        let threshold = UInt64((Double(1 - p) * 0x1p24).rounded())
        let kept = 1 / (1 - p)
        @inline(__always) func word(_ pair: Int) -> UInt64 {
            RNG.splitMix(key &+ UInt64(truncatingIfNeeded: pair) &* 0x9E37_79B9_7F4A_7C15)
        }
        var j = 0
        if first & 1 == 1, count > 0 {  // an odd start: the second half of its pair
            mask[0] = (word(first >> 1) >> 16) & 0xFF_FFFF < threshold ? kept : 0
            j = 1
        }
        // Eight words at a time: the same words as the scalar loop, in SIMD8<UInt64> lanes (1.7× faster).
        // Each word's two decisions are packed into its 32-bit halves so that, read as SIMD16<UInt32>, lane
        // 2i holds element 2i's 24 bits and lane 2i+1 element 2i+1's.
        let laneOffsets = SIMD8<UInt64>(0, 1, 2, 3, 4, 5, 6, 7)
        let thresholds = SIMD16<UInt32>(repeating: UInt32(threshold))
        while j + 16 <= count {
            let pairs = SIMD8<UInt64>(repeating: UInt64(truncatingIfNeeded: (first + j) >> 1)) &+ laneOffsets
            var z = SIMD8<UInt64>(repeating: key) &+ pairs &* 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
            z = z ^ (z &>> 31)
            let packed = (z &>> 40) | (((z &>> 16) & 0xFF_FFFF) &<< 32)
            let decisions = unsafeBitCast(packed, to: SIMD16<UInt32>.self)
            let values = Lanes(repeating: 0).replacing(with: kept, where: decisions .< thresholds)
            UnsafeMutableRawPointer(mask + j).storeBytes(of: values, as: Lanes.self)
            j += 16
        }
        while j + 1 < count {
            let w = word((first + j) >> 1)
            mask[j] = w >> 40 < threshold ? kept : 0
            mask[j + 1] = (w >> 16) & 0xFF_FFFF < threshold ? kept : 0
            j += 2
        }
        if j < count { mask[j] = word((first + j) >> 1) >> 40 < threshold ? kept : 0 }
    }

    /// A mask from an external keep pattern (1 = kept, 0 = dropped), e.g. PyTorch's, for golden tests.
    public static func makeMask(_ mask: UnsafeMutablePointer<Float>, fromKeep keep: UnsafePointer<UInt8>,
                                count: Int, probability p: Float) {
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1), got \(p)")
        let kept = 1 / (1 - p)
        for i in 0..<count { mask[i] = keep[i] != 0 ? kept : 0 }
    }

    /// Training forward: draws a fresh mask into `mask` (kept for backward), then y = x ⊙ mask.
    public static func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                               mask: UnsafeMutablePointer<Float>, count: Int, probability p: Float,
                               rng: inout RNG) {
        makeMask(mask, count: count, probability: p, rng: &rng)
        forward(x: x, mask: mask, y: y, count: count)
    }

    /// y = x ⊙ mask with an existing mask (drawn, all ones, or PyTorch's); y may alias x.
    public static func forward(x: UnsafePointer<Float>, mask: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                               count: Int) {
        Elementwise.multiply(x, mask, y, count)
    }

    /// dx += dy ⊙ mask.
    public static func backward(dy: UnsafePointer<Float>, mask: UnsafePointer<Float>,
                                dx: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.accumulate(Product.self, dy, mask, into: dx, count)
    }
}
