/// The one elementwise driver. Every pointwise kernel is a closure over `Lanes` passed to `map`, and row
/// kernels loop over `chunks`: 16-lane chunks, the last one partial with padded lanes (zero unless a kernel
/// asks otherwise; closures must tolerate them, they are never stored). Everything is `@_transparent` so
/// each kernel compiles to its own straight SIMD loop, in this module or the caller's.
public enum Elementwise {
    /// Lanes i..<i+lanes of p; in a partial chunk the unused lanes hold `padding`.
    @_transparent @usableFromInline
    static func load(_ p: UnsafePointer<Float>, _ i: Int, _ lanes: Int, padding: Float = 0) -> Lanes {
        if lanes == Lanes.scalarCount {
            return UnsafeRawPointer(p + i).loadUnaligned(as: Lanes.self)
        }
        var v = Lanes(repeating: padding)
        for j in 0..<lanes { v[j] = p[i + j] }
        return v
    }

    @_transparent @usableFromInline
    static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ lanes: Int) {
        if lanes == Lanes.scalarCount {
            UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: Lanes.self)
            return
        }
        for j in 0..<lanes { p[i + j] = v[j] }
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

    /// out = f(x). `out` may alias `x`.
    @_transparent
    public static func map(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ count: Int,
                           _ f: (Lanes) -> Lanes) {
        for (i, n) in chunks(count) { store(f(load(x, i, n)), out, i, n) }
    }

    /// out = f(a, b). `out` may alias either input.
    @_transparent
    public static func map(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                           _ count: Int, _ f: (Lanes, Lanes) -> Lanes) {
        for (i, n) in chunks(count) { store(f(load(a, i, n), load(b, i, n)), out, i, n) }
    }

    /// out += f(a, b): the shape of every activation backward (dx += f(x or y, dy)).
    @_transparent
    public static func accumulate(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                  into out: UnsafeMutablePointer<Float>, _ count: Int,
                                  _ f: (Lanes, Lanes) -> Lanes) {
        for (i, n) in chunks(count) {
            store(load(UnsafePointer(out), i, n) + f(load(a, i, n), load(b, i, n)), out, i, n)
        }
    }

    // MARK: Arithmetic

    /// out = a + b (out may alias a or b: the residual add).
    public static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                           _ count: Int) {
        map(a, b, out, count) { $0 + $1 }
    }

    /// out = a ⊙ b.
    public static func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                _ out: UnsafeMutablePointer<Float>, _ count: Int) {
        map(a, b, out, count) { $0 * $1 }
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
