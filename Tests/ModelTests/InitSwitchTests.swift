import Tensor
import XCTest
@testable import Model

/// `prefix_init` and `gate_bias_init`: the reference code's BERT init by default, PyTorch's (the `adapters`
/// library's) on request. Moments are checked on a fixed seed within 5 standard errors.
final class InitSwitchTests: XCTestCase {
    private func model(prefixInit: PrefixInit, gateBiasInit: GateBiasInit) throws -> BertModel {
        var pelt = PELTConfig.method(.unipeltAPL, hiddenSize: GoldenModelTests.backbone.config.hiddenSize)
        pelt.prefixInit = prefixInit
        pelt.gateBiasInit = gateBiasInit
        return try BertModel(backbone: GoldenModelTests.backbone, pelt: pelt, numLabels: 2, maxBatch: 1, maxSeqLen: 8,
                             seed: 11)
    }

    private func values(_ model: BertModel, _ name: String) throws -> [Float] {
        Array(try model.parameters.parameter(named: name).value)
    }

    private func gateBiases(_ model: BertModel) throws -> [Float] {
        try (0..<GoldenModelTests.backbone.config.numLayers).flatMap { l in
            try [ParameterName.prefixGate(l), ParameterName.query(l) + ".lora_gate", ParameterName.value(l) + ".lora_gate"]
                .flatMap { try values(model, $0 + ".bias") }
        }
    }

    /// Mean and variance within 5 standard errors of a distribution with variance `variance` (and, for the
    /// variance, fourth moment `fourth`).
    private func assertMoments(_ x: [Float], variance: Double, fourth: Double, _ what: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        let n = Double(x.count)
        let mean = x.reduce(0) { $0 + Double($1) } / n
        let sampleVariance = x.reduce(0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / (n - 1)
        XCTAssertEqual(mean, 0, accuracy: 5 * (variance / n).squareRoot(), "\(what) mean", file: file, line: line)
        XCTAssertEqual(sampleVariance, variance, accuracy: 5 * ((fourth - variance * variance) / n).squareRoot(),
                       "\(what) variance", file: file, line: line)
    }

    private func assertNormal(_ x: [Float], std: Double, _ what: String, line: UInt = #line) {
        let variance = std * std
        assertMoments(x, variance: variance, fourth: 3 * variance * variance, what, line: line)
    }

    /// U(±bound): variance bound²/3, fourth moment bound⁴/5, every value inside and the extremes near the bounds.
    private func assertUniform(_ x: [Float], bound: Double, _ what: String, line: UInt = #line) {
        assertMoments(x, variance: bound * bound / 3, fourth: pow(bound, 4) / 5, what, line: line)
        XCTAssertLessThanOrEqual(Double(x.map(abs).max()!), bound, what, line: line)
        XCTAssertGreaterThan(Double(x.map(abs).max()!), 0.9 * bound, what, line: line)
    }

    func testTorchPrefixInitIsPyTorchDefaults() throws {
        let m = try model(prefixInit: .torch, gateBiasInit: .zero)
        let H = Double(GoldenModelTests.backbone.config.hiddenSize), width = Double(PrefixConfig(gated: true).mlpWidth)
        assertNormal(try values(m, ParameterName.prefixEmbedding), std: 1, "embedding N(0, 1)")
        for (layer, fanIn) in [(ParameterName.prefixMLPIn, H), (ParameterName.prefixMLPOut, width)] {
            assertUniform(try values(m, layer + ".weight"), bound: 1 / fanIn.squareRoot(), "\(layer).weight")
            assertUniform(try values(m, layer + ".bias"), bound: 1 / fanIn.squareRoot(), "\(layer).bias")
        }
        XCTAssertTrue(try gateBiases(m).allSatisfy { $0 == 0 }, "gate biases follow gate_bias_init, not prefix_init")
    }

    func testBertPrefixInitAndZeroGateBiasesAreTheDefaults() throws {
        XCTAssertEqual(PELTConfig().prefixInit, .bert)
        XCTAssertEqual(PELTConfig().gateBiasInit, .zero)
        let m = try model(prefixInit: .bert, gateBiasInit: .zero)
        assertNormal(try values(m, ParameterName.prefixEmbedding), std: 0.02, "embedding N(0, 0.02)")
        for layer in [ParameterName.prefixMLPIn, ParameterName.prefixMLPOut] {
            assertNormal(try values(m, layer + ".weight"), std: 0.02, "\(layer).weight")
            XCTAssertTrue(try values(m, layer + ".bias").allSatisfy { $0 == 0 })
        }
        XCTAssertTrue(try gateBiases(m).allSatisfy { $0 == 0 })
    }

    func testTorchGateBiasesAreUniformWithinOneOverRootHidden() throws {
        let m = try model(prefixInit: .bert, gateBiasInit: .torch)
        let bound = 1 / Float(GoldenModelTests.backbone.config.hiddenSize).squareRoot()
        let biases = try gateBiases(m)
        XCTAssertTrue(biases.allSatisfy { abs($0) <= bound && $0 != 0 }, "\(biases)")
        XCTAssertEqual(Set(biases).count, biases.count, "each gate draws its own bias")
        let adapterGate = ParameterName.adapter(0) + ".gate.bias"
        XCTAssertEqual(try values(m, adapterGate), [0], "the adapter gate is BERT-initialised in both references")
    }
}
