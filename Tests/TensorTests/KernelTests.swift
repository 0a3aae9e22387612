import XCTest
@testable import Tensor
import TestSupport

/// Dropout, reductions, masked mean, embedding and losses.
final class KernelTests: XCTestCase {
    func testDropoutMaskStatisticsAndReuseInBackward() {
        var rng = RNG(seed: 7, stream: .dropout)
        let count = 100_003
        var mask = [Float](repeating: -1, count: count)
        Dropout.makeMask(&mask, count: count, probability: 0.1, rng: &rng)
        let kept = mask.filter { $0 != 0 }
        XCTAssertTrue(kept.allSatisfy { $0 == 1 / Float(0.9) })
        XCTAssertEqual(Double(kept.count) / Double(count), 0.9, accuracy: 0.005)

        let x = randomArray(count, seed: 1)
        var y = [Float](repeating: 0, count: count)
        Dropout.forward(x: x, mask: mask, y: &y, count: count)
        XCTAssertEqual(y, zip(x, mask).map { $0 * $1 })
        var dx = [Float](repeating: 1, count: count)
        Dropout.backward(dy: x, mask: mask, dx: &dx, count: count)
        XCTAssertEqual(dx, zip(x, mask).map { 1 + $0 * $1 })
    }

    /// A mask filled in blocks (any split, odd offsets included) equals the mask filled in one piece, and the
    /// extremes hold: p = 0 keeps everything, p near 1 keeps almost nothing.
    func testDropoutMaskFromAKeyIsTheSameInAnySplit() {
        let count = 1_001, key: UInt64 = 0xDEAD_BEEF
        var whole = [Float](repeating: -1, count: count)
        Dropout.makeMask(&whole, count: count, probability: 0.3, key: key, first: 0)
        for cuts in [[0, 1001], [0, 1, 1001], [0, 333, 334, 700, 1001], [0, 2, 999, 1001]] {
            var pieces = [Float](repeating: -1, count: count)
            pieces.withUnsafeMutableBufferPointer { m in
                for (a, b) in zip(cuts, cuts.dropFirst()) {
                    Dropout.makeMask(m.baseAddress! + a, count: b - a, probability: 0.3, key: key, first: a)
                }
            }
            XCTAssertEqual(pieces, whole, "cuts \(cuts)")
        }
        XCTAssertEqual(Double(whole.filter { $0 != 0 }.count) / Double(count), 0.7, accuracy: 0.05)
        var all = [Float](repeating: -1, count: 100), none = all
        Dropout.makeMask(&all, count: 100, probability: 0, key: key, first: 5)
        XCTAssertTrue(all.allSatisfy { $0 == 1 })
        Dropout.makeMask(&none, count: 100, probability: 0.9999999, key: key, first: 5)
        XCTAssertTrue(none.allSatisfy { $0 == 0 })
    }

    /// The eight-words-at-a-time path draws exactly the mask its definition gives, element by element: word
    /// ⌊i/2⌋ = SplitMix64(key + ⌊i/2⌋·γ), bits 40… decide even elements and bits 16…39 odd ones.
    func testDropoutMaskEqualsItsElementwiseDefinition() {
        let key: UInt64 = 0x1234_5678_9ABC_DEF0, p: Float = 0.25
        let threshold = UInt64((Double(1 - p) * 0x1p24).rounded())
        for (first, count) in [(0, 1_000), (1, 999), (7, 64), (16, 17), (3, 5)] {
            var mask = [Float](repeating: -1, count: count)
            Dropout.makeMask(&mask, count: count, probability: p, key: key, first: first)
            let expected = (first..<(first + count)).map { i -> Float in
                let word = RNG.splitMix(key &+ UInt64(i / 2) &* 0x9E37_79B9_7F4A_7C15)
                let bits = i % 2 == 0 ? word >> 40 : (word >> 16) & 0xFF_FFFF
                return bits < threshold ? 1 / (1 - p) : 0
            }
            XCTAssertEqual(mask, expected, "first \(first), count \(count)")
        }
    }

    func testDropoutForwardWithGeneratorDrawsTheSameMaskAsMakeMask() {
        var a = RNG(seed: 8, stream: .dropout), b = a
        let x = randomArray(50, seed: 9)
        var y = [Float](repeating: 0, count: 50), mask = y, expectedMask = y
        Dropout.forward(x: x, y: &y, mask: &mask, count: 50, probability: 0.25, rng: &a)
        Dropout.makeMask(&expectedMask, count: 50, probability: 0.25, rng: &b)
        XCTAssertEqual(mask, expectedMask)
        XCTAssertEqual(y, zip(x, mask).map { $0 * $1 })
        XCTAssertEqual(a.state, b.state)
    }

    func testDropoutWithZeroProbabilityIsIdentityAndDrawsNothing() {
        var rng = RNG(seed: 3)
        let before = rng.state
        var mask = [Float](repeating: 0, count: 10)
        Dropout.makeMask(&mask, count: 10, probability: 0, rng: &rng)
        XCTAssertEqual(mask, [Float](repeating: 1, count: 10))
        XCTAssertEqual(rng.state, before)
    }

    func testDropoutAcceptsAnExternalKeepPattern() {
        let keep: [UInt8] = [1, 0, 1, 1, 0]
        var mask = [Float](repeating: 0, count: 5)
        Dropout.makeMask(&mask, fromKeep: keep, count: 5, probability: 0.5)
        XCTAssertEqual(mask, [2, 0, 2, 2, 0])
    }

    func testReductions() {
        let x = randomArray(1001, seed: 2), y = randomArray(1001, seed: 3)
        XCTAssertEqual(Double(Reduce.sum(x, x.count)), x.reduce(0.0) { $0 + Double($1) }, accuracy: 1e-4)
        XCTAssertEqual(Double(Reduce.dot(x, y, x.count)), weightedSum(x, y), accuracy: 1e-4)
        XCTAssertEqual(Reduce.sum([], 0), 0)
    }

    func testElementwiseArithmetic() {
        let a = randomArray(35, seed: 4), b = randomArray(35, seed: 5)
        var out = [Float](repeating: 0, count: 35)
        Elementwise.add(a, b, &out, 35)
        XCTAssertEqual(out, zip(a, b).map { $0 + $1 })
        Elementwise.multiply(a, b, &out, 35)
        XCTAssertEqual(out, zip(a, b).map { $0 * $1 })
        var y = b
        Elementwise.axpy(0.5, a, &y, 35)
        XCTAssertEqual(y, zip(a, b).map { 0.5 * $0 + $1 })
        Elementwise.scale(&y, by: 2, 35)
        XCTAssertEqual(y, zip(a, b).map { 2 * (0.5 * $0 + $1) })
    }

    func testMaskedMeanForwardAndBackward() {
        let (batch, steps, width) = (3, 7, 5)
        var x = randomArray(batch * steps * width, seed: 9)
        // Sample 0 fully real, sample 1 with 3 pads, sample 2 fully masked (its mean is defined as 0).
        let mask: [Float] = (0..<batch * steps).map { i in
            let (b, t) = (i / steps, i % steps)
            return b == 0 ? 1 : (b == 1 ? (t < 4 ? 1 : 0) : 0)
        }
        var out = [Float](repeating: 9, count: batch * width)
        MaskedMean.forward(x: x, mask: mask, out: &out, batch: batch, steps: steps, width: width)
        for c in 0..<width {
            let expected = (0..<4).map { x[(steps + $0) * width + c] }.reduce(0, +) / 4
            XCTAssertEqual(out[width + c], expected, accuracy: 1e-6)
            XCTAssertEqual(out[2 * width + c], 0)
        }
        let w = randomArray(batch * width, seed: 10)
        for maskOrNil in [mask, nil] as [[Float]?] {
            var dx = [Float](repeating: 0, count: x.count)
            MaskedMean.backward(dout: w, mask: maskOrNil, dx: &dx, batch: batch, steps: steps, width: width)
            checkGradient(maskOrNil == nil ? "mean" : "masked mean", &x, analytic: dx) { input in
                var o = [Float](repeating: 0, count: batch * width)
                MaskedMean.forward(x: input, mask: maskOrNil, out: &o, batch: batch, steps: steps, width: width)
                return weightedSum(o, w)
            }
        }
    }

    func testEmbeddingGatherAndScatterAdd() {
        let (vocab, dim) = (6, 9)
        var table = randomArray(vocab * dim, seed: 11)
        let ids: [Int32] = [3, 0, 3, 5]
        var out = [Float](repeating: 0, count: ids.count * dim)
        Embedding.forward(ids: ids, table: table, vocab: vocab, dim: dim, out: &out, count: ids.count)
        XCTAssertEqual(Array(out[0..<dim]), Array(table[3 * dim..<4 * dim]))
        Embedding.forward(ids: ids, table: table, vocab: vocab, dim: dim, out: &out, count: ids.count, accumulate: true)
        XCTAssertEqual(Array(out[dim..<2 * dim]), table[0..<dim].map { 2 * $0 })

        let w = randomArray(ids.count * dim, seed: 12)
        var dtable = [Float](repeating: 0, count: vocab * dim)
        Embedding.backward(ids: ids, dout: w, dtable: &dtable, vocab: vocab, dim: dim, count: ids.count)
        checkGradient("embedding", &table, analytic: dtable) { t in
            var o = [Float](repeating: 0, count: ids.count * dim)
            Embedding.forward(ids: ids, table: t, vocab: vocab, dim: dim, out: &o, count: ids.count)
            return weightedSum(o, w)
        }
    }

    func testCrossEntropyLossAndGradient() {
        let (batch, classes) = (4, 3)
        var logits = randomArray(batch * classes, seed: 13, -3, 3)
        let labels: [Int32] = [0, 2, 1, 2]
        var dlogits = [Float](repeating: 0, count: logits.count)
        let loss = CrossEntropy.forwardBackward(logits: logits, labels: labels, dlogits: &dlogits,
                                                batch: batch, classes: classes)
        var expected = 0.0
        for b in 0..<batch {
            let row = logits[b * classes..<(b + 1) * classes].map(Double.init)
            expected += log(row.map(Foundation.exp).reduce(0, +)) - row[Int(labels[b])]
        }
        XCTAssertEqual(Double(loss), expected / Double(batch), accuracy: 1e-6)
        checkGradient("cross-entropy", &logits, analytic: dlogits, h: 1e-3) {
            Double(CrossEntropy.forwardBackward(logits: $0, labels: labels, dlogits: nil, batch: batch, classes: classes))
        }
    }

    func testMeanSquaredErrorLossAndGradient() {
        var prediction = randomArray(5, seed: 14)
        let target = randomArray(5, seed: 15)
        var d = [Float](repeating: 0, count: 5)
        let loss = MeanSquaredError.forwardBackward(prediction: prediction, target: target, dprediction: &d, count: 5)
        XCTAssertEqual(Double(loss), zip(prediction, target).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +) / 5,
                       accuracy: 1e-6)
        checkGradient("MSE", &prediction, analytic: d, h: 1e-3) {
            Double(MeanSquaredError.forwardBackward(prediction: $0, target: target, dprediction: nil, count: 5))
        }
    }
}
