import Tensor
import TestSupport
import XCTest
@testable import Model

/// The model's one Linear: y = x·Wᵀ + b against its definition, and its backward by finite differences, on
/// one and on several workers (the products are then cut into pieces).
final class LinearLayerTests: XCTestCase {
    private let rows = 37, inFeatures = 5, outFeatures = 4

    private func values(_ count: Int, seed: UInt64) -> [Float] {
        var rng = RNG(seed: seed)
        return (0..<count).map { _ in rng.uniform(-1, 1) }
    }

    /// Runs `body` with a LinearLayer over these arrays; the gradient buffers are nil for a frozen layer.
    private func withLayer<R>(weight: [Float], bias: [Float], dweight: inout [Float], dbias: inout [Float],
                              trains: Bool, _ body: (LinearLayer) -> R) -> R {
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                dweight.withUnsafeMutableBufferPointer { dw in
                    dbias.withUnsafeMutableBufferPointer { db in
                        body(LinearLayer(weight: Weight(value: w.baseAddress!, grad: trains ? dw.baseAddress! : nil),
                                         bias: Weight(value: b.baseAddress!, grad: trains ? db.baseAddress! : nil),
                                         inFeatures: inFeatures, outFeatures: outFeatures))
                    }
                }
            }
        }
    }

    private func forward(_ x: [Float], _ weight: [Float], _ bias: [Float], workers: StepWorkers) -> [Float] {
        var noWeightGradient: [Float] = [], noBiasGradient: [Float] = []
        var y = [Float](repeating: 0, count: rows * outFeatures)
        withLayer(weight: weight, bias: bias, dweight: &noWeightGradient, dbias: &noBiasGradient, trains: false) { layer in
            x.withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { y in
                    layer.forward(x.baseAddress!, y.baseAddress!, rows: rows, workers: workers)
                }
            }
        }
        return y
    }

    private func backward(_ layer: LinearLayer, _ dout: [Float], _ x: [Float], into dx: inout [Float],
                          workers: StepWorkers) {
        dout.withUnsafeBufferPointer { dout in
            x.withUnsafeBufferPointer { x in
                dx.withUnsafeMutableBufferPointer { dx in
                    layer.backward(dout.baseAddress!, x.baseAddress!, dx: dx.baseAddress!, rows: rows, workers: workers)
                }
            }
        }
    }

    func testForwardIsTheDefinitionAndBackwardMatchesFiniteDifferences() {
        for count in [1, 3] {
            let workers = StepWorkers(count: count)
            var x = values(rows * inFeatures, seed: 16)
            var weight = values(outFeatures * inFeatures, seed: 17), bias = values(outFeatures, seed: 18)
            let dout = values(rows * outFeatures, seed: 19)
            let y = forward(x, weight, bias, workers: workers)
            for r in 0..<rows {
                for o in 0..<outFeatures {
                    var sum = Double(bias[o])
                    for i in 0..<inFeatures { sum += Double(x[r * inFeatures + i]) * Double(weight[o * inFeatures + i]) }
                    XCTAssertEqual(Double(y[r * outFeatures + o]), sum, accuracy: 1e-5)
                }
            }

            var dx = [Float](repeating: 0, count: x.count), dweight = [Float](repeating: 0, count: weight.count)
            var dbias = [Float](repeating: 0, count: outFeatures)
            withLayer(weight: weight, bias: bias, dweight: &dweight, dbias: &dbias, trains: true) { layer in
                backward(layer, dout, x, into: &dx, workers: workers)
            }
            let (x0, weight0, bias0) = (x, weight, bias)
            checkGradient("LinearLayer dx", &x, analytic: dx) { weightedSum(forward($0, weight0, bias0, workers: workers), dout) }
            checkGradient("LinearLayer dweight", &weight, analytic: dweight) {
                weightedSum(forward(x0, $0, bias0, workers: workers), dout)
            }
            checkGradient("LinearLayer dbias", &bias, analytic: dbias) {
                weightedSum(forward(x0, weight0, $0, workers: workers), dout)
            }

            // A frozen layer passes dx on and accumulates it: a second backward doubles it.
            var frozenDx = dx, noWeightGradient: [Float] = [], noBiasGradient: [Float] = []
            withLayer(weight: weight0, bias: bias0, dweight: &noWeightGradient, dbias: &noBiasGradient, trains: false) { layer in
                backward(layer, dout, x0, into: &frozenDx, workers: workers)
            }
            assertClose(frozenDx, dx.map { 2 * $0 }, atol: 1e-6, "accumulated dx, \(count) workers")
        }
    }
}
