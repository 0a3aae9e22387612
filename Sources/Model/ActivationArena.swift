import Foundation

/// Owns every activation and scratch buffer of one model, allocated once at model creation for the
/// largest (batch, sequence) it will see, so a training step never allocates. Freed with the pool.
final class ActivationArena {
    private var buffers: [UnsafeMutableRawPointer] = []
    private(set) var floatCount = 0

    /// A zeroed, 64-byte-aligned buffer of `count` floats.
    func make(_ count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        buffers.append(raw)
        floatCount += count
        return raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    deinit {
        for raw in buffers { raw.deallocate() }
    }
}
