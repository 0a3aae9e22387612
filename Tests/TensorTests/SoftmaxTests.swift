import XCTest
@testable import Tensor
import TestSupport

final class SoftmaxTests: XCTestCase {
    // 2 groups × 3 rows of 19 columns: odd width exercises the partial SIMD chunk.
    let (groups, rowsPerGroup, cols) = (2, 3, 19)
    var rows: Int { groups * rowsPerGroup }

    private func run(_ x: [Float], scale: Float, mask: [Float]?, additive: Bool) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        if let mask {
            mask.withUnsafeBufferPointer { m in
                let kind: SoftmaxMask = additive ? .additive(m.baseAddress!) : .keys(m.baseAddress!)
                Softmax.forward(x: x, y: &y, groups: groups, rowsPerGroup: rowsPerGroup, cols: cols, scale: scale, mask: kind)
            }
        } else {
            Softmax.forward(x: x, y: &y, groups: groups, rowsPerGroup: rowsPerGroup, cols: cols, scale: scale)
        }
        return y
    }

    /// Key mask: group 0 masks the last 5 keys, group 1 the first 2 and key 10.
    private var keyMask: [Float] {
        (0..<groups * cols).map { i in
            let (g, c) = (i / cols, i % cols)
            return g == 0 ? (c >= cols - 5 ? 0 : 1) : (c < 2 || c == 10 ? 0 : 1)
        }
    }

    func testRowsSumToOneAndMatchDoubleReference() {
        let x = randomArray(rows * cols, seed: 1, -5, 5)
        let y = run(x, scale: 0.125, mask: nil, additive: false)
        for r in 0..<rows {
            let row = x[r * cols..<(r + 1) * cols].map { Double($0) * 0.125 }
            let m = row.max()!
            let e = row.map { Foundation.exp($0 - m) }
            let s = e.reduce(0, +)
            let sum = y[r * cols..<(r + 1) * cols].reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, 1, accuracy: 1e-6)
            assertClose(Array(y[r * cols..<(r + 1) * cols]), e.map { Float($0 / s) }, atol: 1e-7, "row \(r)")
        }
    }

    func testKeyMaskGivesExactZerosAndAdditiveMinus10000Agrees() {
        let x = randomArray(rows * cols, seed: 2, -5, 5)
        let mask = keyMask
        let keys = run(x, scale: 1, mask: mask, additive: false)
        let additive = run(x, scale: 1, mask: mask.map { (1 - $0) * -10000 }, additive: true)
        for r in 0..<rows {
            let g = r / rowsPerGroup
            for c in 0..<cols where mask[g * cols + c] == 0 {
                XCTAssertEqual(keys[r * cols + c], 0)
                XCTAssertEqual(additive[r * cols + c], 0, "exp(−10000 − max) must underflow to exactly 0")
            }
            let sum = keys[r * cols..<(r + 1) * cols].reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, 1, accuracy: 1e-6)
        }
        assertClose(keys, additive, atol: 1e-7, "key vs additive mask")
    }

    func testInPlaceMatchesOutOfPlace() {
        let x = randomArray(rows * cols, seed: 7, -4, 4)
        let mask = keyMask.map { (1 - $0) * -10000 }
        var inPlace = x
        mask.withUnsafeBufferPointer { m in
            inPlace.withUnsafeMutableBufferPointer { p in
                Softmax.forward(x: p.baseAddress!, y: p.baseAddress!, groups: groups, rowsPerGroup: rowsPerGroup,
                                cols: cols, scale: 0.5, mask: .additive(m.baseAddress!))
            }
        }
        XCTAssertEqual(inPlace, run(x, scale: 0.5, mask: mask, additive: true))
    }

    func testFullyMaskedRowIsAllZeros() {
        let x = randomArray(rows * cols, seed: 3)
        let y = run(x, scale: 1, mask: [Float](repeating: 0, count: groups * cols), additive: false)
        XCTAssertEqual(y, [Float](repeating: 0, count: x.count))
    }

    func testBackwardFiniteDifferencesWithScaleAndMask() {
        var x = randomArray(rows * cols, seed: 4, -2, 2)
        let w = randomArray(rows * cols, seed: 5)
        let mask = keyMask.map { (1 - $0) * -10000 }
        let scale: Float = 0.7
        let y = run(x, scale: scale, mask: mask, additive: true)
        let initial = randomArray(rows * cols, seed: 6)
        var dx = initial
        Softmax.backward(y: y, dy: w, dx: &dx, rows: rows, cols: cols, scale: scale)
        let analytic = zip(dx, initial).map { $0 - $1 }
        checkGradient("softmax", &x, analytic: analytic, h: 1e-3) {
            weightedSum(self.run($0, scale: scale, mask: mask, additive: true), w)
        }
    }
}
