import TestSupport
import XCTest
import Foundation
@testable import Tensor

final class VectorMathTests: XCTestCase {
    /// Applies a Lanes function to an array chunk by chunk (partial chunks with padded lanes too).
    private func apply(_ x: [Float], _ f: (Lanes) -> Lanes) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                for (i, n) in Elementwise.chunks(x.count) {
                    Elementwise.store(f(Elementwise.load(xp.baseAddress!, i, n)), yp.baseAddress!, i, n)
                }
            }
        }
        return y
    }

    private func grid(_ lo: Double, _ hi: Double, _ count: Int) -> [Float] {
        (0..<count).map { Float(lo + (hi - lo) * Double($0) / Double(count - 1)) }
    }

    func testErfMatchesGlibcWithin1e7() {
        let x = grid(-6, 6, 48_001)
        let y = apply(x, VectorMath.erf)
        var worst = 0.0
        for (xi, yi) in zip(x, y) { worst = max(worst, abs(Double(yi) - Foundation.erf(Double(xi)))) }
        XCTAssertLessThan(worst, 1.2e-7, "erf max abs error \(worst)")
        XCTAssertEqual(apply([0, 4, -4, 10, -10, .infinity, -.infinity], VectorMath.erf), [0, 1, -1, 1, -1, 1, -1])
    }

    func testExpMatchesGlibcWithinTwoUlpAndUnderflowsToExactZero() {
        let x = grid(-87, 88, 70_001)
        let y = apply(x, VectorMath.exp)
        var worst = 0.0
        for (xi, yi) in zip(x, y) {
            let reference = Foundation.exp(Double(xi))
            worst = max(worst, abs(Double(yi) - reference) / reference)
        }
        XCTAssertLessThan(worst, 2.5e-7, "exp max relative error \(worst)")
        XCTAssertEqual(apply([-10000, -100, -.infinity, 0, 100, .infinity], VectorMath.exp),
                       [0, 0, 0, 1, .infinity, .infinity])
    }

    func testTanhAndSigmoidMatchGlibc() {
        let x = grid(-20, 20, 40_001)
        let t = apply(x, VectorMath.tanh), s = apply(x, VectorMath.sigmoid)
        var worstTanh = 0.0, worstSigmoid = 0.0
        for i in 0..<x.count {
            let xd = Double(x[i])
            worstTanh = max(worstTanh, abs(Double(t[i]) - Foundation.tanh(xd)))
            worstSigmoid = max(worstSigmoid, abs(Double(s[i]) - 1 / (1 + Foundation.exp(-xd))))
        }
        XCTAssertLessThan(worstTanh, 2e-7)
        XCTAssertLessThan(worstSigmoid, 2e-7)
        XCTAssertEqual(apply([-200, 200], VectorMath.sigmoid), [0, 1])
        XCTAssertEqual(apply([-200, 200, 0], VectorMath.tanh), [-1, 1, 0])
    }
}

final class ActivationTests: XCTestCase {
    /// GELU agrees with 0.5·x·(1+erf(x/√2)) evaluated in Double (what PyTorch's F.gelu computes in fp32
    /// up to its own rounding) to 1e-6 absolute.
    func testGELUMatchesExactErfForm() {
        let x = (0..<20_001).map { Float(-10 + 20 * Double($0) / 20_000) }
        var y = [Float](repeating: 0, count: x.count)
        GELU.forward(x: x, y: &y, count: x.count)
        var worst = 0.0
        for (xi, yi) in zip(x, y) {
            let xd = Double(xi)
            worst = max(worst, abs(Double(yi) - 0.5 * xd * (1 + Foundation.erf(xd / 2.0.squareRoot()))))
        }
        XCTAssertLessThan(worst, 1e-6, "GELU max abs error \(worst)")
    }

    /// Shared FD check of y = f(x), dx += f'·dy through loss Σ w·y.
    private func checkActivation(_ label: String, count: Int = 37, seed: UInt64,
                                 forward: @escaping (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
                                 backward: (_ x: [Float], _ y: [Float], _ dy: [Float], _ dx: inout [Float]) -> Void,
                                 x lo: Float = -3, _ hi: Float = 3) {
        var x = randomArray(count, seed: seed, lo, hi)
        let w = randomArray(count, seed: seed + 1)
        let run = { (input: [Float]) -> [Float] in
            var y = [Float](repeating: 0, count: count)
            forward(input, &y, count)
            return y
        }
        let initial = randomArray(count, seed: seed + 2)  // backward must add to, not overwrite, dx
        var dx = initial
        backward(x, run(x), w, &dx)
        let analytic = zip(dx, initial).map { $0 - $1 }
        checkGradient(label, &x, analytic: analytic, h: 1e-3) { weightedSum(run($0), w) }
    }

    func testGELUBackwardFiniteDifferences() {
        checkActivation("GELU", seed: 10, forward: { GELU.forward(x: $0, y: $1, count: $2) },
                        backward: { x, _, dy, dx in GELU.backward(x: x, dy: dy, dx: &dx, count: x.count) })
    }

    func testTanhBackwardFiniteDifferences() {
        checkActivation("tanh", seed: 20, forward: { Tanh.forward(x: $0, y: $1, count: $2) },
                        backward: { _, y, dy, dx in Tanh.backward(y: y, dy: dy, dx: &dx, count: y.count) })
    }

    func testSigmoidBackwardFiniteDifferences() {
        checkActivation("sigmoid", seed: 30, forward: { Sigmoid.forward(x: $0, y: $1, count: $2) },
                        backward: { _, y, dy, dx in Sigmoid.backward(y: y, dy: dy, dx: &dx, count: y.count) },
                        x: -6, 6)
    }

    func testReLUBackwardFiniteDifferences() {
        // No seeded input lies within h of 0, where ReLU has no derivative (the check would fail if one did).
        checkActivation("ReLU", seed: 40, forward: { x, y, n in
            ReLU.forward(x: x, y: y, count: n)
        }, backward: { _, y, dy, dx in ReLU.backward(y: y, dy: dy, dx: &dx, count: y.count) })
    }

    func testReLUValuesAndZeroGradientAtZero() {
        let x: [Float] = [-2, -0.0, 0, 1.5]
        var y = [Float](repeating: 9, count: 4)
        ReLU.forward(x: x, y: &y, count: 4)
        XCTAssertEqual(y, [0, 0, 0, 1.5])
        var dx = [Float](repeating: 0, count: 4)
        ReLU.backward(y: y, dy: [1, 1, 1, 1], dx: &dx, count: 4)
        XCTAssertEqual(dx, [0, 0, 0, 1])
    }
}
