/// The one elementwise driver. Every pointwise kernel is a `LaneFunction` type passed to `map` or
/// `accumulate`, and row kernels loop over `chunks`: 16-lane chunks, the last one partial with padded lanes
/// (zero unless a kernel asks otherwise; kernels must tolerate them, they are never stored). The drivers are
/// generic over the kernel type rather than taking a closure: the optimiser compiled closure arguments out of
/// line (a call per chunk with the SIMD16 argument split across registers and memory), which made GELU and
/// the activation backwards twice as slow; a static function of a generic parameter is always specialised and
/// inlined into the loop.
public enum Elementwise {
    /// Lanes i..<i+lanes of p; in a partial chunk the unused lanes hold `padding`.
    @_transparent @usableFromInline
    static func load(_ p: UnsafePointer<Float>, _ i: Int, _ lanes: Int, padding: Float = 0) -> Lanes {
        if lanes == Lanes.scalarCount {
            return UnsafeRawPointer(p + i).loadUnaligned(as: Lanes.self)
        }
        // A partial chunk goes through memory in one copy: lane by lane, each insert was a separate
        // store-and-reload, which doubled the cost of rows whose width is not a multiple of 16 (softmax over
        // T + prefix keys, dynamic padding).
        var v = Lanes(repeating: padding)
        withUnsafeMutableBytes(of: &v) {
            $0.baseAddress!.copyMemory(from: p + i, byteCount: lanes * MemoryLayout<Float>.stride)
        }
        return v
    }

    /// The full chunk at i.
    @_transparent @usableFromInline
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> Lanes {
        UnsafeRawPointer(p + i).loadUnaligned(as: Lanes.self)
    }

    @_transparent @usableFromInline
    static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: Lanes.self)
    }

    @_transparent @usableFromInline
    static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ lanes: Int) {
        if lanes == Lanes.scalarCount {
            UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: Lanes.self)
            return
        }
        withUnsafeBytes(of: v) {
            UnsafeMutableRawPointer(p + i).copyMemory(from: $0.baseAddress!, byteCount: lanes * MemoryLayout<Float>.stride)
        }
    }

    /// (offset, lanes) over [0, count) in steps of 16, the last one possibly partial, for `for (i, n) in`
    /// loops. A sequence rather than a closure-taking driver: the optimiser left larger closure bodies out of
    /// line (a call per chunk, accumulators in memory), which cost up to a third of a kernel's time.
    @_transparent @usableFromInline
    static func chunks(_ count: Int) -> Chunks { Chunks(count: count) }

    @usableFromInline
    struct Chunks: Sequence, IteratorProtocol {
        @usableFromInline let count: Int
        @usableFromInline var offset = 0

        @_transparent @usableFromInline
        init(count: Int) { self.count = count }

        @_transparent @usableFromInline
        mutating func next() -> (offset: Int, lanes: Int)? {
            guard offset < count else { return nil }
            defer { offset += Lanes.scalarCount }
            return (offset, Swift.min(Lanes.scalarCount, count - offset))
        }
    }

    /// out = F(x). `out` may alias `x`.
    @inline(__always)
    public static func map<F: LaneFunction>(_: F.Type, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                            _ count: Int) {
        var i = 0
        while i + Lanes.scalarCount <= count {
            store(F.apply(load(x, i)), out, i)
            i += Lanes.scalarCount
        }
        if i < count { store(F.apply(load(x, i, count - i)), out, i, count - i) }
    }

    /// out = F(a, b). `out` may alias either input.
    @inline(__always)
    public static func map<F: LaneFunction2>(_: F.Type, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                             _ out: UnsafeMutablePointer<Float>, _ count: Int) {
        var i = 0
        while i + Lanes.scalarCount <= count {
            store(F.apply(load(a, i), load(b, i)), out, i)
            i += Lanes.scalarCount
        }
        if i < count { store(F.apply(load(a, i, count - i), load(b, i, count - i)), out, i, count - i) }
    }

    /// out += F(a, b): the shape of every activation backward (dx += f(x or y, dy)).
    @inline(__always)
    public static func accumulate<F: LaneFunction2>(_: F.Type, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                                    into out: UnsafeMutablePointer<Float>, _ count: Int) {
        var i = 0
        while i + Lanes.scalarCount <= count {
            store(load(UnsafePointer(out), i) + F.apply(load(a, i), load(b, i)), out, i)
            i += Lanes.scalarCount
        }
        if i < count {
            let n = count - i
            store(load(UnsafePointer(out), i, n) + F.apply(load(a, i, n), load(b, i, n)), out, i, n)
        }
    }

    // MARK: Arithmetic

    /// out = a + b (out may alias a or b: the residual add).
    public static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                           _ count: Int) {
        map(Sum.self, a, b, out, count)
    }

    /// out = a ⊙ b.
    public static func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                _ out: UnsafeMutablePointer<Float>, _ count: Int) {
        map(Product.self, a, b, out, count)
    }

    // The scalar-capturing ops loop directly: a closure capturing alpha was left out of line by the optimiser.

    /// y += alpha·x.
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                            _ count: Int) {
        for (i, n) in chunks(count) { store(alpha * load(x, i, n) + load(UnsafePointer(y), i, n), y, i, n) }
    }

    /// x *= alpha, in place.
    public static func scale(_ x: UnsafeMutablePointer<Float>, by alpha: Float, _ count: Int) {
        scale(x, by: alpha, into: x, count)
    }

    /// out = alpha·x.
    public static func scale(_ x: UnsafePointer<Float>, by alpha: Float, into out: UnsafeMutablePointer<Float>,
                             _ count: Int) {
        for (i, n) in chunks(count) { store(alpha * load(x, i, n), out, i, n) }
    }
}

/// A pointwise function of one lane vector, as a type for `Elementwise.map`.
public protocol LaneFunction {
    static func apply(_ x: Lanes) -> Lanes
}

/// A pointwise function of two lane vectors, as a type for `Elementwise.map` and `accumulate`.
public protocol LaneFunction2 {
    static func apply(_ a: Lanes, _ b: Lanes) -> Lanes
}

/// a + b.
public enum Sum: LaneFunction2 {
    @_transparent public static func apply(_ a: Lanes, _ b: Lanes) -> Lanes { a + b }
}

/// a ⊙ b (also every "dx += dy ⊙ mask").
public enum Product: LaneFunction2 {
    @_transparent public static func apply(_ a: Lanes, _ b: Lanes) -> Lanes { a * b }
}
