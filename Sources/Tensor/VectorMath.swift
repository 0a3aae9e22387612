/// The SIMD width of every kernel: 16 floats = one AVX-512 register or two AVX2 registers.
public typealias Lanes = SIMD16<Float>

/// Vectorised transcendental functions. Coefficients were fitted for this file (least squares on Chebyshev
/// nodes against 30-digit references); the tests check them against Glibc over a dense range.
/// `@_transparent` (as swift-numerics uses it) because the optimiser otherwise declined to inline these large
/// bodies into kernel loops, and a SIMD16 passed through memory per call costs more than the math; it also
/// inlines them into other modules' closures. Min/max/clamp are written as compare-and-select: the standard
/// library's `clamped` and `pointwiseMin/Max` compile to per-lane scalar loops.
public enum VectorMath {
    /// e^x with relative error below 2 ulp on [-87.3, 88.37]; 0 below (so masked softmax entries are exactly 0;
    /// Float's subnormal range is given up), +inf above (2^k must stay a normal number, k ≤ 127).
    /// Range reduction x = k·ln2 + r, |r| ≤ ln2/2, then the degree-7 Taylor polynomial of e^r.
    @_transparent
    public static func exp(_ x: Lanes) -> Lanes {
        let clamped = x.replacing(with: -87.3, where: x .< -87.3).replacing(with: 88.37, where: x .> 88.37)
        // Round to nearest by adding 1.5·2²³: the sum's low mantissa bits then hold k as an integer, so both
        // k and 2^k come from bit operations (Swift's SIMD `rounded` and Int conversions are scalar loops).
        let magic: Float = 12_582_912  // 1.5·2²³
        let shifted = clamped * 1.442695040888963 + magic
        let k = shifted - magic
        // ln2 split in two so that k·ln2 is subtracted without rounding error.
        var r = clamped - k * 0.693145751953125
        r = r - k * 1.428606765330187e-06
        // Estrin's scheme: depth 4 instead of Horner's 8 dependent steps. The loops are latency-bound (one
        // SIMD16 chunk is ~100 instructions, so few chunks overlap), which makes depth the cost that matters.
        let r2 = r * r, r4 = r2 * r2
        let c01 = r + 1, c23 = r * (1.0 / 6) + 0.5
        let c45 = r * (1.0 / 120) + (1.0 / 24), c67 = r * (1.0 / 5040) + (1.0 / 720)
        let p = r4 * (r2 * c67 + c45) + (r2 * c23 + c01)
        let integerK = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- Int32(bitPattern: magic.bitPattern)
        let exponent = (integerK &+ 127) &<< 23
        var result = p * unsafeBitCast(exponent, to: Lanes.self)
        result.replace(with: 0, where: x .< -87.3)
        result.replace(with: .infinity, where: x .> 88.37)
        return result
    }

    /// erf(x) with absolute error below 1e-7. |x| < 1: x·P(x²) (degree 5 in x²). 1 ≤ |x| < 4:
    /// 1 − e^{−x²}·R(x) with R(x) = erfc(x)·e^{x²} a degree-8 polynomial in s = (|x|−2.5)/1.5.
    /// |x| ≥ 4 rounds to ±1 in Float.
    @_transparent
    public static func erf(_ x: Lanes) -> Lanes { erf(x, expNegativeSquare: exp(-(x * x))) }

    /// erf(x) given e^{−x²}, which GELU's derivative needs anyway (one exp instead of two).
    @_transparent @usableFromInline
    static func erf(_ x: Lanes, expNegativeSquare e: Lanes) -> Lanes {
        let t = absolute(x)
        // x·P(x²), P of degree 5, by Estrin's scheme (see exp).
        let z = x * x, z2 = z * z
        let p01 = z * -0.3761201798915863 + 1.128378987312317
        let p23 = z * -0.026671912521123886 + 0.11278451979160309
        let p45 = z * -0.0005489196046255529 + 0.004878295119851828
        let small = x * (z2 * (z2 * p45 + p23) + p01)

        // Beyond 4, e·R(4) < 2e-8 and 1 − that rounds to 1, so clamping R's argument is exact in Float.
        let tc = t.replacing(with: 1, where: t .< 1).replacing(with: 4, where: t .> 4)
        let s = (tc - 2.5) * (1.0 / 1.5)
        let s2 = s * s, s4 = s2 * s2
        let r01 = s * -0.11151117831468582 + 0.21080754697322845
        let r23 = s * -0.027404095977544785 + 0.0560775063931942
        let r45 = s * -0.005378163885325193 + 0.011600261554121971
        let r67 = s * 0.003451947122812271 + 0.005622188560664654
        let r4567 = s4 * 0.0026345676742494106 + (s2 * r67 + r45)
        let r = s4 * r4567 + (s2 * r23 + r01)
        var large = 1 - e * r
        large.replace(with: -large, where: x .< 0)
        return small.replacing(with: large, where: t .>= 1)
    }

    /// tanh via e^{−2|x|}: no cancellation for large |x| and no overflow.
    @_transparent
    public static func tanh(_ x: Lanes) -> Lanes {
        let e = exp(-2 * absolute(x))
        var y = (1 - e) / (1 + e)
        y.replace(with: -y, where: x .< 0)
        return y
    }

    /// 1/(1+e^{−x}); e^{−x} → inf gives exactly 0, → 0 gives exactly 1.
    @_transparent
    public static func sigmoid(_ x: Lanes) -> Lanes {
        1 / (1 + exp(-x))
    }

    /// The largest lane, by halving with compare-and-select (`SIMD.max()` is a scalar loop through memory
    /// that cost a fifth of the softmax). NaN lanes are ignored unless all are NaN.
    @_transparent @usableFromInline
    static func horizontalMax(_ v: Lanes) -> Float {
        let h8 = v.highHalf
        let m8 = v.lowHalf.replacing(with: h8, where: h8 .> v.lowHalf)
        let h4 = m8.highHalf
        let m4 = m8.lowHalf.replacing(with: h4, where: h4 .> m8.lowHalf)
        let h2 = m4.highHalf
        let m2 = m4.lowHalf.replacing(with: h2, where: h2 .> m4.lowHalf)
        return m2[1] > m2[0] ? m2[1] : m2[0]
    }

    /// |x| by clearing the sign bit.
    @_transparent
    public static func absolute(_ x: Lanes) -> Lanes {
        unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0x7fff_ffff, to: Lanes.self)
    }
}
