import XCTest
@testable import Training

final class GradientClippingTests: XCTestCase {
    func testScalesToTheMaximumNormOnlyWhenAbove() {
        // 37 elements: not a multiple of the 16-lane SIMD width, so the tail path counts too.
        var gradients = (0..<37).map { Float($0 % 5) - 2 }
        let expectedNorm = gradients.map { Double($0 * $0) }.reduce(0, +).squareRoot()
        let original = gradients
        let norm = gradients.withUnsafeMutableBufferPointer {
            GradientClipping.clip($0.baseAddress!, count: $0.count, maxNorm: 1)
        }
        XCTAssertEqual(Double(norm), expectedNorm, accuracy: 1e-5)
        let clippedNorm = gradients.map { Double($0 * $0) }.reduce(0, +).squareRoot()
        XCTAssertEqual(clippedNorm, 1, accuracy: 1e-5)
        for (a, b) in zip(gradients, original) { XCTAssertEqual(a, b / Float(expectedNorm), accuracy: 1e-6) }

        let unchanged = gradients.withUnsafeMutableBufferPointer {
            GradientClipping.clip($0.baseAddress!, count: $0.count, maxNorm: 2)
        }
        XCTAssertEqual(unchanged, 1, accuracy: 1e-5)
        XCTAssertEqual(gradients.map { Double($0 * $0) }.reduce(0, +).squareRoot(), 1, accuracy: 1e-5)
    }

    func testZeroMaximumOnlyMeasures() {
        var gradients: [Float] = [3, 4]
        let norm = gradients.withUnsafeMutableBufferPointer {
            GradientClipping.clip($0.baseAddress!, count: 2, maxNorm: 0)
        }
        XCTAssertEqual(norm, 5)
        XCTAssertEqual(gradients, [3, 4])
    }
}
