/// The SIMD width of every kernel: 16 floats = one AVX-512 register or two AVX2 registers.
public typealias Lanes = SIMD16<Float>

/// Vectorised transcendental functions. Coefficients were fitted for this file (least squares on Chebyshev
/// nodes against 30-digit references); the tests check them against Glibc over a dense range.
public enum VectorMath {
    /// e^x with relative error below 2 ulp on [-87.3, 88.37]; 0 below (so masked softmax entries are exactly 0;
    /// Float's subnormal range is given up), +inf above (2^k must stay a normal number, k ≤ 127). Range reduction x = k·ln2 + r, |r| ≤ ln2/2, then a degree-7 Taylor polynomial for e^r.
    @inline(__always)
    public static func exp(_ x: Lanes) -> Lanes {
        let clamped = x.clamped(lowerBound: Lanes(repeating: -87.3), upperBound: Lanes(repeating: 88.37))
        let k = (clamped * 1.442695040888963).rounded(.toNearestOrEven)
        // ln2 split in two so that k·ln2 is subtracted without rounding error.
        var r = clamped - k * 0.693145751953125
        r = r - k * 1.428606765330187e-06
        var p = Lanes(repeating: 1.0 / 5040)
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let exponent = (SIMD16<Int32>(k, rounding: .towardZero) &+ 127) &<< 23
        var result = p * unsafeBitCast(exponent, to: Lanes.self)
        result.replace(with: 0, where: x .< -87.3)
        result.replace(with: .infinity, where: x .> 88.37)
        return result
    }

    /// erf(x) with absolute error below 1e-7. |x| < 1: x·P(x²) (degree 5 in x²). 1 ≤ |x| < 4:
    /// 1 − e^{−x²}·R(x) with R(x) = erfc(x)·e^{x²} a degree-8 polynomial in s = (|x|−2.5)/1.5.
    /// |x| ≥ 4 rounds to ±1 in Float.
    @inline(__always)
    public static func erf(_ x: Lanes) -> Lanes {
        let t = absolute(x)
        let x2 = x * x
        var small = Lanes(repeating: -0.0005489196046255529)
        small = small * x2 + 0.004878295119851828
        small = small * x2 - 0.026671912521123886
        small = small * x2 + 0.11278451979160309
        small = small * x2 - 0.3761201798915863
        small = small * x2 + 1.128378987312317
        small = small * x

        let tc = t.clamped(lowerBound: Lanes(repeating: 1), upperBound: Lanes(repeating: 4))
        let s = (tc - 2.5) * (1.0 / 1.5)
        var r = Lanes(repeating: 0.0026345676742494106)
        r = r * s + 0.003451947122812271
        r = r * s + 0.005622188560664654
        r = r * s - 0.005378163885325193
        r = r * s + 0.011600261554121971
        r = r * s - 0.027404095977544785
        r = r * s + 0.0560775063931942
        r = r * s - 0.11151117831468582
        r = r * s + 0.21080754697322845
        var large = 1 - exp(-(tc * tc)) * r
        large.replace(with: -large, where: x .< 0)
        return small.replacing(with: large, where: t .>= 1)
    }

    /// tanh via e^{−2|x|}: no cancellation for large |x| and no overflow.
    @inline(__always)
    public static func tanh(_ x: Lanes) -> Lanes {
        let e = exp(-2 * absolute(x))
        var y = (1 - e) / (1 + e)
        y.replace(with: -y, where: x .< 0)
        return y
    }

    /// 1/(1+e^{−x}); e^{−x} → inf gives exactly 0, → 0 gives exactly 1.
    @inline(__always)
    public static func sigmoid(_ x: Lanes) -> Lanes {
        1 / (1 + exp(-x))
    }

    /// |x| by clearing the sign bit.
    @inline(__always)
    public static func absolute(_ x: Lanes) -> Lanes {
        unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0x7fff_ffff, to: Lanes.self)
    }
}
