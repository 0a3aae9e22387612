// The Tensor module: dense Float32 storage, BLAS matrix products, SIMD kernels with their backward, RNG,
// safetensors I/O.
//
// API overview
// ============
// Storage
//   `Tensor`        final class; owns one 64-byte-aligned Float32 buffer + shape. Reference semantics, so a
//                   frozen backbone is shared read-only by many models/threads; `freeze()` marks it immutable
//                   (`mutableData` then traps in debug builds). `view`, `rows(_:)`, `zero()`, `fill(_:)`,
//                   `copy(from:)`, `toArray()`.
//   `TensorView`    non-owning (pointer, `Shape`) struct for slices of a Tensor or of an arena; no ARC, no heap.
//   `Shape`         up to 4 dims stored inline (no allocation).
//   `Buffer`        zero/fill/copy on raw pointers.
// Matrix products (BLAS.swift) — row-major, cblas_sgemm only
//   `BLAS.gemm(.none, .transposed, m:n:k:alpha:a:b:beta:c:)` C = α·op(A)·op(B) + β·C (β=1 accumulates).
//   `BLAS.gemmBatched(...)` strided batches; the `batches:heads:` form takes (batch, head) strides so attention
//   runs on (B, T, H) activations without transposes. `BLAS.setThreads(_:)`, `BLAS.threads`.
//   `SGEMMProbe.measureGFLOPS(threads:)` the machine's current GEMM rate, for benchmark ratios.
// Kernels — raw pointers + explicit sizes; outputs are caller-provided; nothing allocates.
//   Convention: **every backward accumulates (`+=`) into its gradient outputs** (llm.c): zero grads once per step.
//   `GELU` (exact erf), `Tanh`, `ReLU`, `Sigmoid`, `Softmax` (scale + additive or key mask),
//   `LayerNorm` (saves mean/rstd; fused residual add), `Dropout` (mask drawn from an `RNG` or supplied, kept
//   for backward),
//   `Elementwise` (add, multiply, axpy, scale; `map`/`accumulate` take a `LaneFunction` type, so the SIMD kernel
//   is specialised into the caller), `Reduce` (sum, dot, sumOfSquares), `MaskedMean` (mean over the step axis),
//   `Embedding` (gather / scatter-add), `CrossEntropy`, `MeanSquaredError`.
//   `VectorMath.exp/erf/tanh/sigmoid` are the SIMD16 approximations the kernels use.
// RNG
//   `RNG` xoshiro256** with `RNGState` (Codable) for checkpoints; `RNG(seed:stream:)` derives independent
//   streams (`RNGStream.initialization`, `.dropout`, `.dataOrder`); uniform/normal/Bernoulli fills.
// Files
//   `Safetensors.read(path:)` → `SafetensorsFile` (F32; F16/BF16 widened; integer tensors skipped and listed);
//   `Safetensors.write(_:metadata:to:)` atomic (temp file, fsync, rename, fsync dir). Errors: `SafetensorsError`.
// Benchmarks
//   `TensorBenchmarks.run()` (`unipelt bench kernels`) prints SGEMM GFLOP/s and kernel GB/s at BERT shapes (release builds only: at -Onone
//   Swift's SIMD types are generic calls, ~300× slower).

import Foundation

/// Up to four dimensions stored inline, so making a view never touches the heap.
public struct Shape: Equatable, Hashable, CustomStringConvertible, Sendable {
    public let rank: Int
    private var d0, d1, d2, d3: Int

    public init(_ dims: Int...) { self.init(dims) }

    public init(_ dims: [Int]) {
        precondition(dims.count <= 4, "Shape supports at most 4 dimensions, got \(dims)")
        precondition(dims.allSatisfy { $0 >= 0 }, "negative dimension in \(dims)")
        rank = dims.count
        d0 = dims.count > 0 ? dims[0] : 1
        d1 = dims.count > 1 ? dims[1] : 1
        d2 = dims.count > 2 ? dims[2] : 1
        d3 = dims.count > 3 ? dims[3] : 1
    }

    public subscript(axis: Int) -> Int {
        precondition(axis >= 0 && axis < rank, "axis \(axis) out of range for rank \(rank)")
        switch axis {
        case 0: return d0
        case 1: return d1
        case 2: return d2
        default: return d3
        }
    }

    /// Number of elements (1 for rank 0).
    public var count: Int { d0 * d1 * d2 * d3 }
    public var dims: [Int] { (0..<rank).map { self[$0] } }
    /// Elements per index of the first axis.
    public var rowSize: Int { rank == 0 ? 1 : d1 * d2 * d3 }
    /// The last axis (1 for rank 0).
    public var last: Int { rank == 0 ? 1 : self[rank - 1] }
    public var description: String { "(" + dims.map(String.init).joined(separator: ", ") + ")" }

    /// The same shape with the first axis set to `count` (no array is built: views are made in the step).
    public func withFirst(_ count: Int) -> Shape {
        precondition(rank >= 1 && count >= 0, "withFirst(\(count)) on shape \(self)")
        var copy = self
        copy.d0 = count
        return copy
    }
}

/// A non-owning window on Float32 memory. The owner (a `Tensor` or an arena) must outlive it.
public struct TensorView {
    public let data: UnsafeMutablePointer<Float>
    public let shape: Shape

    public init(_ data: UnsafeMutablePointer<Float>, _ shape: Shape) {
        self.data = data
        self.shape = shape
    }

    public var count: Int { shape.count }
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }

    /// Rows `range` of the first axis, as a view with the same trailing dims.
    public func rows(_ range: Range<Int>) -> TensorView {
        precondition(shape.rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "rows \(range) out of range for shape \(shape)")
        return TensorView(data + range.lowerBound * shape.rowSize, shape.withFirst(range.count))
    }

    /// The same memory read with another shape of equal element count.
    public func reshaped(_ newShape: Shape) -> TensorView {
        precondition(newShape.count == count, "cannot reshape \(shape) to \(newShape)")
        return TensorView(data, newShape)
    }

    public func zero() { Buffer.zero(data, count) }
    public func fill(_ value: Float) { Buffer.fill(data, count, value) }
    public func copy(from source: TensorView) {
        precondition(source.count == count, "copy from \(source.shape) into \(shape)")
        Buffer.copy(source.data, data, count)
    }
    public func toArray() -> [Float] { Array(buffer) }
}

/// Owns one 64-byte-aligned Float32 buffer. A class so that loaded weights are shared, never copied;
/// after `freeze()` the contents are immutable and safe to read from any thread.
public final class Tensor: @unchecked Sendable {
    /// Cache-line alignment: every SIMD load of a row start is aligned and no two tensors share a line.
    public static let alignment = 64

    public let shape: Shape
    public let count: Int
    private let storage: UnsafeMutablePointer<Float>
    public private(set) var isFrozen = false

    /// Zero-filled storage of `shape`.
    public convenience init(shape: Shape) {
        self.init(uninitializedShape: shape)
        Buffer.zero(storage, count)
    }

    /// Storage the caller fills completely before any read (file loads skip a memset of the whole model).
    init(uninitializedShape shape: Shape) {
        self.shape = shape
        count = shape.count
        let bytes = Swift.max(count, 1) * MemoryLayout<Float>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: Tensor.alignment)
        storage = raw.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
    }

    public convenience init(shape dims: Int...) { self.init(shape: Shape(dims)) }

    public convenience init(shape: Shape, values: [Float]) {
        precondition(values.count == shape.count, "\(values.count) values for shape \(shape)")
        self.init(shape: shape)
        values.withUnsafeBufferPointer { Buffer.copy($0.baseAddress!, storage, count) }
    }

    deinit { storage.deallocate() }

    /// Read access; valid for the tensor's lifetime.
    public var data: UnsafePointer<Float> { UnsafePointer(storage) }

    /// Write access; a frozen tensor refuses (checked in debug builds, free in release).
    public var mutableData: UnsafeMutablePointer<Float> {
        assert(!isFrozen, "write access to a frozen tensor of shape \(shape)")
        return storage
    }

    /// A view of the whole tensor. Views are for writing too, so the frozen check applies.
    public var view: TensorView { TensorView(mutableData, shape) }

    /// A read-only pointer and shape for frozen tensors (the view type is mutable, so this avoids the check).
    public var readView: TensorView { TensorView(storage, shape) }

    public func rows(_ range: Range<Int>) -> TensorView { view.rows(range) }

    /// Marks the contents immutable: call once after loading, before sharing across threads.
    public func freeze() { isFrozen = true }

    public func zero() { Buffer.zero(mutableData, count) }
    public func fill(_ value: Float) { Buffer.fill(mutableData, count, value) }
    public func copy(from source: Tensor) {
        precondition(source.count == count, "copy from \(source.shape) into \(shape)")
        Buffer.copy(source.data, mutableData, count)
    }
    public func toArray() -> [Float] { Array(UnsafeBufferPointer(start: storage, count: count)) }
}

/// Fill and copy on raw memory (memset/memcpy speed; no loops to maintain).
public enum Buffer {
    @inline(__always)
    public static func zero(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        if count > 0 { memset(p, 0, count * MemoryLayout<Float>.stride) }
    }

    public static func fill(_ p: UnsafeMutablePointer<Float>, _ count: Int, _ value: Float) {
        if value == 0 { zero(p, count); return }
        UnsafeMutableBufferPointer(start: p, count: count).initialize(repeating: value)
    }

    /// Copies `count` floats; regions may overlap.
    @inline(__always)
    public static func copy(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
        if count > 0 { memmove(destination, source, count * MemoryLayout<Float>.stride) }
    }

    /// Exchanges the contents of two non-overlapping regions.
    public static func swap(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count { (a[i], b[i]) = (b[i], a[i]) }
    }
}
