import Foundation
import XCTest
@testable import Training

final class ExporterTests: XCTestCase {
    /// `adapters` rebuilds an adapter's width as `int(hidden // reduction_factor)`: every bottleneck of MiniLM's
    /// and BERT-base's hidden sizes must come back exactly (384 / 30 once came back as 29, and the load failed).
    func testEveryBottleneckSurvivesTheReductionFactorRoundTrip() {
        for hidden in [384, 768] {
            for bottleneck in 1...hidden {
                let factor = Exporter.reductionFactor(hidden: hidden, bottleneck: bottleneck)
                XCTAssertEqual(Int(pythonFloorDivide(Double(hidden), factor)), bottleneck, "hidden \(hidden), bottleneck \(bottleneck)")
            }
        }
        XCTAssertEqual(Exporter.reductionFactor(hidden: 384, bottleneck: 24), 16, "a dividing bottleneck keeps its plain factor")
        // A factor of hidden / bottleneck fails under Python's // for 147 of 384 widths, 30 among them, though
        // the floor of Swift's rounded division gives 30 back.
        XCTAssertEqual(pythonFloorDivide(384, 384.0 / 30), 29)
        XCTAssertEqual((384 / (384.0 / 30)).rounded(.down), 30)
    }

    /// Python's float `//` for positive operands, as CPython computes it: through fmod, then a floor corrected
    /// towards the nearest integer, not the floor of a rounded quotient.
    private func pythonFloorDivide(_ a: Double, _ b: Double) -> Double {
        let remainder = fmod(a, b)
        let quotient = (a - remainder) / b
        var floored = quotient.rounded(.down)
        if quotient - floored > 0.5 { floored += 1 }
        return floored
    }
}
