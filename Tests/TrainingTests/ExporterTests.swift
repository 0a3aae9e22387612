import XCTest
@testable import Training

final class ExporterTests: XCTestCase {
    /// `adapters` rebuilds an adapter's width as `int(hidden // reduction_factor)`: every bottleneck of MiniLM's
    /// and BERT-base's hidden sizes must come back exactly (384 / 30 once came back as 29, and the load failed).
    func testEveryBottleneckSurvivesTheReductionFactorRoundTrip() {
        for hidden in [384, 768] {
            for bottleneck in 1...hidden {
                let factor = Exporter.reductionFactor(hidden: hidden, bottleneck: bottleneck)
                XCTAssertEqual(Int((Double(hidden) / factor).rounded(.down)), bottleneck, "hidden \(hidden), bottleneck \(bottleneck)")
            }
        }
        XCTAssertEqual(Exporter.reductionFactor(hidden: 384, bottleneck: 24), 16, "a dividing bottleneck keeps its plain factor")
    }
}
