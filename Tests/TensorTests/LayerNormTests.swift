import TestSupport
import XCTest
@testable import Tensor

final class LayerNormTests: XCTestCase {
    let (rows, cols) = (4, 27)

    private func forward(_ x: [Float], _ gamma: [Float], _ beta: [Float], eps: Float = 1e-5)
        -> (y: [Float], mean: [Float], rstd: [Float]) {
        var y = [Float](repeating: 0, count: x.count)
        var mean = [Float](repeating: 0, count: rows), rstd = [Float](repeating: 0, count: rows)
        LayerNorm.forward(x: x, gamma: gamma, beta: beta, y: &y, mean: &mean, rstd: &rstd,
                          rows: rows, cols: cols, eps: eps)
        return (y, mean, rstd)
    }

    func testStatisticsAndNormalizedRows() {
        // A common offset of 100 checks the two-pass variance: E[x²]−E[x]² would lose ~4 digits here.
        let x = randomArray(rows * cols, seed: 1, -1, 1).map { $0 + 100 }
        let ones = [Float](repeating: 1, count: cols), zeros = [Float](repeating: 0, count: cols)
        let (y, mean, rstd) = forward(x, ones, zeros, eps: 1e-12)
        for r in 0..<rows {
            let row = x[r * cols..<(r + 1) * cols].map(Double.init)
            let mu = row.reduce(0, +) / Double(cols)
            let variance = row.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(cols)
            XCTAssertEqual(Double(mean[r]), mu, accuracy: 5e-5)  // a few ulp of the 2700-sized row sum
            XCTAssertEqual(Double(rstd[r]), 1 / variance.squareRoot(), accuracy: 1e-3 / variance.squareRoot())
            let out = y[r * cols..<(r + 1) * cols].map(Double.init)
            let outMean = out.reduce(0, +) / Double(cols)
            let outVariance = out.map { ($0 - outMean) * ($0 - outMean) }.reduce(0, +) / Double(cols)
            XCTAssertEqual(outMean, 0, accuracy: 1e-4)
            XCTAssertEqual(outVariance, 1, accuracy: 1e-3)
        }
    }

    func testBackwardFiniteDifferencesForInputGammaAndBeta() {
        var x = randomArray(rows * cols, seed: 2, -2, 2)
        var gamma = randomArray(cols, seed: 3, 0.5, 1.5), beta = randomArray(cols, seed: 4)
        let w = randomArray(rows * cols, seed: 5)
        let (_, mean, rstd) = forward(x, gamma, beta)
        let initialDx = randomArray(rows * cols, seed: 6), initialDg = randomArray(cols, seed: 7)
        let initialDb = randomArray(cols, seed: 8)
        var dx = initialDx, dgamma = initialDg, dbeta = initialDb
        LayerNorm.backward(dy: w, x: x, mean: mean, rstd: rstd, gamma: gamma, dx: &dx, dgamma: &dgamma,
                           dbeta: &dbeta, rows: rows, cols: cols)
        let g0 = gamma, b0 = beta, x0 = x
        checkGradient("LayerNorm dx", &x, analytic: zip(dx, initialDx).map { $0 - $1 }, h: 1e-3) {
            weightedSum(self.forward($0, g0, b0).y, w)
        }
        checkGradient("LayerNorm dgamma", &gamma, analytic: zip(dgamma, initialDg).map { $0 - $1 }, h: 1e-3) {
            weightedSum(self.forward(x0, $0, b0).y, w)
        }
        checkGradient("LayerNorm dbeta", &beta, analytic: zip(dbeta, initialDb).map { $0 - $1 }, h: 1e-3) {
            weightedSum(self.forward(x0, g0, $0).y, w)
        }
    }

    func testFrozenParametersSkipTheirGradients() {
        let x = randomArray(rows * cols, seed: 9), gamma = randomArray(cols, seed: 10), beta = randomArray(cols, seed: 11)
        let (_, mean, rstd) = forward(x, gamma, beta)
        var withGrads = [Float](repeating: 0, count: x.count), without = withGrads
        var dgamma = [Float](repeating: 0, count: cols), dbeta = dgamma
        let w = randomArray(rows * cols, seed: 12)
        LayerNorm.backward(dy: w, x: x, mean: mean, rstd: rstd, gamma: gamma, dx: &withGrads, dgamma: &dgamma,
                           dbeta: &dbeta, rows: rows, cols: cols)
        LayerNorm.backward(dy: w, x: x, mean: mean, rstd: rstd, gamma: gamma, dx: &without, dgamma: nil,
                           dbeta: nil, rows: rows, cols: cols)
        XCTAssertEqual(withGrads, without)
    }

    func testFusedResidualAddMatchesAddThenNormalize() {
        let a = randomArray(rows * cols, seed: 13), b = randomArray(rows * cols, seed: 14)
        let gamma = randomArray(cols, seed: 15), beta = randomArray(cols, seed: 16)
        var sum = [Float](repeating: 0, count: a.count), y = sum
        var mean = [Float](repeating: 0, count: rows), rstd = mean
        LayerNorm.forward(adding: a, b, sum: &sum, gamma: gamma, beta: beta, y: &y, mean: &mean, rstd: &rstd,
                          rows: rows, cols: cols, eps: 1e-12)
        XCTAssertEqual(sum, zip(a, b).map { $0 + $1 })
        XCTAssertEqual(y, forward(sum, gamma, beta, eps: 1e-12).y)
    }
}
