/// The one elementwise driver. Every pointwise kernel is a closure over `Lanes` passed to `map`; the driver
/// runs full 16-lane chunks, then one partial chunk with zero-padded lanes (closures must tolerate x = 0 in
/// the unused lanes, which are never stored). Everything is `@_transparent` so with -wmo each kernel
/// compiles to its own straight SIMD loop.
public enum Elementwise {
    @_transparent @usableFromInline
    static func load(_ p: UnsafePointer<Float>, _ i: Int, _ lanes: Int) -> Lanes {
        if lanes == Lanes.scalarCount {
            return UnsafeRawPointer(p + i).loadUnaligned(as: Lanes.self)
        }
        var v = Lanes()
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

    /// Calls `body(offset, lanes)` over [0, count) in chunks of 16 and one final partial chunk.
    @_transparent @usableFromInline
    static func chunks(_ count: Int, _ body: (_ offset: Int, _ lanes: Int) -> Void) {
        var i = 0
        while i + Lanes.scalarCount <= count {
            body(i, Lanes.scalarCount)
            i += Lanes.scalarCount
        }
        if i < count { body(i, count - i) }
    }

    /// out = f(x). `out` may alias `x`.
    @_transparent
    public static func map(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ count: Int,
                           _ f: (Lanes) -> Lanes) {
        chunks(count) { i, n in store(f(load(x, i, n)), out, i, n) }
    }

    /// out = f(a, b). `out` may alias either input.
    @_transparent
    public static func map(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                           _ count: Int, _ f: (Lanes, Lanes) -> Lanes) {
        chunks(count) { i, n in store(f(load(a, i, n), load(b, i, n)), out, i, n) }
    }

    /// out += f(a, b): the shape of every activation backward (dx += f(x or y, dy)).
    @_transparent
    public static func accumulate(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                  into out: UnsafeMutablePointer<Float>, _ count: Int,
                                  _ f: (Lanes, Lanes) -> Lanes) {
        chunks(count) { i, n in store(load(UnsafePointer(out), i, n) + f(load(a, i, n), load(b, i, n)), out, i, n) }
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

    /// y += alpha·x.
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                            _ count: Int) {
        map(x, UnsafePointer(y), y, count) { alpha * $0 + $1 }
    }

    /// x *= alpha, in place.
    public static func scale(_ x: UnsafeMutablePointer<Float>, by alpha: Float, _ count: Int) {
        map(x, x, count) { alpha * $0 }
    }

    /// out = alpha·x.
    public static func scale(_ x: UnsafePointer<Float>, by alpha: Float, into out: UnsafeMutablePointer<Float>,
                             _ count: Int) {
        map(x, out, count) { alpha * $0 }
    }
}
