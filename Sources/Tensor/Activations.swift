// Pointwise activations, forward next to backward. Backward accumulates: dx += f'(·)·dy.

/// Exact GELU, 0.5·x·(1 + erf(x/√2)) (PyTorch's F.gelu default, BERT's "gelu").
public enum GELU {
    static let invSqrt2: Float = 0.7071067811865476
    static let invSqrt2Pi: Float = 0.3989422804014327

    @_transparent
    static func value(_ x: Lanes) -> Lanes { 0.5 * x * (1 + VectorMath.erf(x * invSqrt2)) }

    /// d/dx = Φ(x) + x·φ(x), where φ(x)·√(2π) = e^{−x²/2} = e^{−u²} with u = x/√2 is also what erf(u) needs.
    @_transparent
    static func derivative(_ x: Lanes) -> Lanes {
        let u = x * invSqrt2
        let e = VectorMath.exp(-(u * u))
        let cdf = 0.5 * (1 + VectorMath.erf(u, expNegativeSquare: e))
        return cdf + x * invSqrt2Pi * e
    }

    /// y = gelu(x); y may alias x only if the caller does not need x for backward.
    public static func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.map(Value.self, x, y, count)
    }

    enum Value: LaneFunction {
        @_transparent static func apply(_ x: Lanes) -> Lanes { value(x) }
    }

    /// gelu'(x)·dy.
    enum Backward: LaneFunction2 {
        @_transparent static func apply(_ x: Lanes, _ dy: Lanes) -> Lanes { derivative(x) * dy }
    }

    /// dx += gelu'(x)·dy.
    public static func backward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                                count: Int) {
        Elementwise.accumulate(Backward.self, x, dy, into: dx, count)
    }
}

/// tanh (the BERT pooler). Backward from the output: 1 − y².
public enum Tanh {
    public static func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.map(Value.self, x, y, count)
    }

    enum Value: LaneFunction {
        @_transparent static func apply(_ x: Lanes) -> Lanes { VectorMath.tanh(x) }
    }

    /// (1 − y²)·dy.
    enum Backward: LaneFunction2 {
        @_transparent static func apply(_ y: Lanes, _ dy: Lanes) -> Lanes { (1 - y * y) * dy }
    }

    /// dx += (1 − y²)·dy.
    public static func backward(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                                count: Int) {
        Elementwise.accumulate(Backward.self, y, dy, into: dx, count)
    }
}

/// max(x, 0) (the Pfeiffer adapter). Backward from the output: y > 0 ⇔ x > 0.
public enum ReLU {
    public static func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.map(Value.self, x, y, count)
    }

    enum Value: LaneFunction {
        @_transparent static func apply(_ x: Lanes) -> Lanes { x.replacing(with: 0, where: x .< 0) }
    }

    /// (y > 0)·dy.
    enum Backward: LaneFunction2 {
        @_transparent static func apply(_ y: Lanes, _ dy: Lanes) -> Lanes { dy.replacing(with: 0, where: y .<= 0) }
    }

    /// dx += (y > 0)·dy (PyTorch's convention: gradient 0 at x = 0).
    public static func backward(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                                count: Int) {
        Elementwise.accumulate(Backward.self, y, dy, into: dx, count)
    }
}

/// σ(x) = 1/(1+e^{−x}) (the UniPELT gates). Backward from the output: y(1 − y).
public enum Sigmoid {
    public static func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.map(Value.self, x, y, count)
    }

    enum Value: LaneFunction {
        @_transparent static func apply(_ x: Lanes) -> Lanes { VectorMath.sigmoid(x) }
    }

    /// y(1 − y)·dy.
    enum Backward: LaneFunction2 {
        @_transparent static func apply(_ y: Lanes, _ dy: Lanes) -> Lanes { y * (1 - y) * dy }
    }

    /// dx += y(1 − y)·dy.
    public static func backward(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                                count: Int) {
        Elementwise.accumulate(Backward.self, y, dy, into: dx, count)
    }
}
