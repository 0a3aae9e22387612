import XCTest
@testable import Model

/// The UniPELT paper's Table 4 parameter counts for BERT-base, counted from shapes (no weights are allocated).
final class ParameterCountTests: XCTestCase {
    private func counts(_ method: Method, classifier: ClassifierTraining = .reference) -> ParameterCounts {
        var pelt = PELTConfig.method(method, hiddenSize: 768)
        pelt.classifier = classifier
        return ParameterCounts(config: .bertBase, pelt: pelt, numLabels: 2)
    }

    func testBertBaseBackboneSize() {
        XCTAssertEqual(ParameterLayout.backbone(.bertBase).reduce(0) { $0 + $1.shape.reduce(1, *) }, 109_482_240)
    }

    func testAdapter() {
        let c = counts(.adapter)
        XCTAssertEqual(c[.adapter], 894_528)
        XCTAssertEqual(c[.gate], 0)
        XCTAssertEqual(c[.head], 768 * 2 + 2)  // adapter mode trains the head
    }

    func testLoRA() {
        let c = counts(.lora)
        XCTAssertEqual(c[.lora], 294_912)
        XCTAssertEqual(c.total, 294_912)  // reference: the head stays frozen
    }

    func testPrefix() {
        let c = counts(.prefix)
        XCTAssertEqual(c.foldedPrefix, 184_320)
        XCTAssertEqual(c[.prefix], 9_857_024)
        XCTAssertEqual(c.total, 9_857_024)
    }

    func testBitFit() {
        let c = counts(.bitfit)
        XCTAssertEqual(c[.bias], 102_912)
        XCTAssertEqual(c[.head], 2)  // classifier.bias only
        XCTAssertEqual(counts(.bitfit, classifier: .trained)[.head], 768 * 2 + 2)
    }

    func testUniPELT() {
        let ap = counts(.unipeltAP), apl = counts(.unipeltAPL), nogate = counts(.unipeltAPLNoGate)
        XCTAssertEqual(ap.modulesFolded, 1_078_848)
        XCTAssertEqual(ap[.gate], 18_456)
        XCTAssertEqual(apl.modulesFolded, 1_373_760)
        XCTAssertEqual(apl[.gate], 36_912)
        XCTAssertEqual(nogate.modulesFolded, 1_373_760)
        XCTAssertEqual(nogate[.gate], 0)
    }

    func testFinetune() {
        let c = counts(.finetune)
        XCTAssertEqual(c[.backbone], 109_482_240)
        XCTAssertEqual(c[.head], 768 * 2 + 2)
    }

    /// unipelt's defaults on MiniLM-L6: bottleneck 384/16 = 24.
    func testMiniLMAdapterBottleneck() {
        XCTAssertEqual(PELTConfig.method(.adapter, hiddenSize: 384).adapter?.bottleneck, 24)
    }
}
