import XCTest
@testable import Tensor

/// Deterministic uniform values in [lo, hi).
func randomArray(_ count: Int, seed: UInt64, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
    var rng = RNG(seed: seed, stream: 99)
    return (0..<count).map { _ in rng.uniform(lo, hi) }
}
