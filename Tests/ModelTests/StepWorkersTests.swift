import Foundation
import Tensor
import XCTest
@testable import Model

final class StepWorkersTests: XCTestCase {
    private func values(_ count: Int, seed: UInt64) -> [Float] {
        var rng = RNG(seed: seed)
        return (0..<count).map { _ in rng.uniform(-1, 1) }
    }

    /// C = alpha·op(A)·op(B) + beta·C by the definition, row-major with packed leading dimensions.
    private func reference(_ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int, alpha: Float,
                           _ a: [Float], _ b: [Float], beta: Float, _ c: [Float]) -> [Float] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k {
                    sum += (ta == .none ? a[i * k + p] : a[p * m + i]) * (tb == .none ? b[p * n + j] : b[j * k + p])
                }
                out[i * n + j] = alpha * sum + beta * c[i * n + j]
            }
        }
        return out
    }

    /// Row blocks (tall C) and column blocks (wide C), every transpose, 1–3 workers: the same product.
    func testSplitProductsMatchTheDefinition() {
        for (m, n, k) in [(300, 40, 70), (20, 300, 70), (5, 7, 3)] {
            let a = values(m * k, seed: 1), b = values(k * n, seed: 2), c0 = values(m * n, seed: 3)
            for workers in 1...3 {
                let pool = StepWorkers(count: workers)
                for ta in [Transpose.none, .transposed] {
                    for tb in [Transpose.none, .transposed] {
                        var c = c0
                        a.withUnsafeBufferPointer { a in
                            b.withUnsafeBufferPointer { b in
                                c.withUnsafeMutableBufferPointer { c in
                                    pool.gemm(ta, tb, m: m, n: n, k: k, alpha: 0.5, a: a.baseAddress!,
                                              b: b.baseAddress!, beta: 1, c: c.baseAddress!)
                                }
                            }
                        }
                        let expected = reference(ta, tb, m: m, n: n, k: k, alpha: 0.5, a, b, beta: 1, c0)
                        for i in 0..<(m * n) where abs(c[i] - expected[i]) > 1e-4 {
                            XCTFail("\(m)×\(n)×\(k) \(ta) \(tb), \(workers) workers: c[\(i)] \(c[i]) vs \(expected[i])")
                            break
                        }
                    }
                }
            }
        }
    }

    /// Blocks cover 0..<total exactly once, in order, and never go below the minimum size.
    func testBlocksCoverTheRangeOnce() {
        let pool = StepWorkers(count: 3)
        for (total, minimum) in [(100, 16), (40, 16), (10, 16), (0, 16), (7, 1)] {
            var seen = [Int](repeating: 0, count: total)
            var sizes: [Int] = []
            let lock = NSLock()
            seen.withUnsafeMutableBufferPointer { seen in
                pool.blocks(total, minimum: minimum) { r in
                    for i in r { seen[i] += 1 }
                    lock.lock(); sizes.append(r.count); lock.unlock()
                }
            }
            XCTAssertEqual(seen, [Int](repeating: 1, count: total), "total \(total)")
            if sizes.count > 1 { XCTAssertGreaterThanOrEqual(sizes.min()!, minimum, "total \(total)") }
        }
    }
}
