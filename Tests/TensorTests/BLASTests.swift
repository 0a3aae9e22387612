import XCTest
@testable import Tensor
import TestSupport

final class BLASTests: XCTestCase {
    /// Naive row-major reference for C = alpha·op(A)·op(B) + beta·C.
    private func reference(_ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int, alpha: Float,
                           _ a: [Float], _ b: [Float], beta: Float, _ c: [Float]) -> [Float] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var acc = 0.0
                for p in 0..<k {
                    let av = ta == .none ? a[i * k + p] : a[p * m + i]
                    let bv = tb == .none ? b[p * n + j] : b[j * k + p]
                    acc += Double(av) * Double(bv)
                }
                out[i * n + j] = Float(Double(alpha) * acc + Double(beta) * Double(c[i * n + j]))
            }
        }
        return out
    }

    func testGEMMAllTransposesWithAlphaBeta() {
        let (m, n, k) = (5, 7, 3)
        let a = randomArray(m * k, seed: 1), b = randomArray(k * n, seed: 2), c0 = randomArray(m * n, seed: 3)
        for ta in [Transpose.none, .transposed] {
            for tb in [Transpose.none, .transposed] {
                var c = c0
                BLAS.gemm(ta, tb, m: m, n: n, k: k, alpha: 0.5, a: a, b: b, beta: 1, c: &c)
                let expected = reference(ta, tb, m: m, n: n, k: k, alpha: 0.5, a, b, beta: 1, c0)
                assertClose(c, expected, atol: 1e-5, "gemm \(ta) \(tb)")
            }
        }
    }

    func testGEMMWithZeroInnerDimensionScalesByBeta() {
        var c: [Float] = [1, 2, 3, 4]
        let empty: [Float] = [0]
        BLAS.gemm(.none, .none, m: 2, n: 2, k: 0, a: empty, b: empty, beta: 0.5, c: &c)
        XCTAssertEqual(c, [0.5, 1, 1.5, 2])
    }

    func testBatchedGEMMMatchesPerBatchProducts() {
        let (count, m, n, k) = (3, 4, 5, 6)
        let a = randomArray(count * m * k, seed: 4), b = randomArray(count * n * k, seed: 5)
        var c = [Float](repeating: 0, count: count * m * n)
        BLAS.gemmBatched(.none, .transposed, count: count, m: m, n: n, k: k,
                         a: a, strideA: m * k, b: b, strideB: n * k, c: &c, strideC: m * n)
        for i in 0..<count {
            let expected = reference(.none, .transposed, m: m, n: n, k: k, alpha: 1,
                                     Array(a[i * m * k..<(i + 1) * m * k]), Array(b[i * n * k..<(i + 1) * n * k]),
                                     beta: 0, [Float](repeating: 0, count: m * n))
            assertClose(Array(c[i * m * n..<(i + 1) * m * n]), expected, atol: 1e-5, "batch \(i)")
        }
    }

    /// Attention layout: Q, K as (B, T, H) with heads as column blocks; scores as (B, heads, T, T).
    func testTwoLevelBatchedGEMMComputesPerHeadScores() {
        let (batches, heads, tokens, headDim) = (2, 3, 5, 4)
        let hidden = heads * headDim
        let q = randomArray(batches * tokens * hidden, seed: 6), k = randomArray(batches * tokens * hidden, seed: 7)
        var scores = [Float](repeating: 0, count: batches * heads * tokens * tokens)
        BLAS.gemmBatched(.none, .transposed, batches: batches, heads: heads, m: tokens, n: tokens, k: headDim,
                         alpha: 0.5, a: q, lda: hidden, strideA: .init(batch: tokens * hidden, head: headDim),
                         b: k, ldb: hidden, strideB: .init(batch: tokens * hidden, head: headDim),
                         c: &scores, strideC: .init(batch: heads * tokens * tokens, head: tokens * tokens))
        var expected = [Float](repeating: 0, count: scores.count)
        for b in 0..<batches {
            for h in 0..<heads {
                for i in 0..<tokens {
                    for j in 0..<tokens {
                        var acc = 0.0
                        for d in 0..<headDim {
                            acc += Double(q[(b * tokens + i) * hidden + h * headDim + d])
                                * Double(k[(b * tokens + j) * hidden + h * headDim + d])
                        }
                        expected[((b * heads + h) * tokens + i) * tokens + j] = Float(0.5 * acc)
                    }
                }
            }
        }
        assertClose(scores, expected, atol: 1e-5, "per-head scores")
    }

    func testThreadCountRoundTrips() {
        let previous = BLAS.threads
        BLAS.setThreads(1)
        XCTAssertEqual(BLAS.threads, 1)
        BLAS.setThreads(previous)
        XCTAssertEqual(BLAS.threads, previous)
    }
}
