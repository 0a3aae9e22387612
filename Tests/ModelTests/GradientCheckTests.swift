import Tensor
import XCTest
@testable import Model

/// Central finite differences of the whole model's loss against backward, for a few elements of a few
/// tensors per method, on the tiny golden backbone with every owned tensor randomised (so LoRA's B ≠ 0).
final class GradientCheckTests: XCTestCase {
    private func check(_ method: Method, pooling: GatePooling = .unmasked) throws {
        let backbone = GoldenModelTests.backbone
        var pelt = PELTConfig.method(method, hiddenSize: backbone.config.hiddenSize)
        pelt.gatePooling = pooling
        if pelt.prefix != nil { pelt.prefix!.mlpWidth = 8; pelt.prefix!.length = 3 }
        if pelt.lora != nil { pelt.lora!.rank = 2 }
        let model = try BertModel(backbone: backbone, pelt: pelt, numLabels: 3, maxBatch: 3, maxSeqLen: 12, seed: 3)
        var rng = RNG(seed: 11)
        for p in model.parameters.parameters where p.spec.initializer != .copyOfBackbone {
            rng.fillNormal(p.value.baseAddress!, p.value.count, std: 0.2)
        }
        let batch = try Golden.batch(try Golden.file("unipelt-apl"), numLabels: 3)
        model.parameters.zeroGradients()
        try model.forward(batch, training: false)
        model.backward()
        let eps: Float = 1e-2
        var worst: Float = 0
        var checked = 0
        // The largest-gradient elements of every fourth tensor (and the last, the head).
        let tensors = model.parameters.trainable.enumerated().filter { $0.offset % 4 == 0 }.map(\.element)
        for p in tensors + [model.parameters.trainable.last!] {
            let order = (0..<p.gradient.count).sorted { abs(p.gradient[$0]) > abs(p.gradient[$1]) }
            for i in order.prefix(2) {
                let original = p.value[i]
                p.value[i] = original + eps
                let up = try model.forward(batch, training: false)
                p.value[i] = original - eps
                let down = try model.forward(batch, training: false)
                p.value[i] = original
                let numeric = (up - down) / (2 * eps)
                let analytic = p.gradient[i]
                let err = abs(numeric - analytic) / max(abs(analytic), 1e-2)
                worst = max(worst, err)
                checked += 1
                XCTAssertLessThan(err, 2e-2, "\(method) \(p.name)[\(i)]: numeric \(numeric), analytic \(analytic)")
            }
        }
        print("finite differences \(method.rawValue): \(checked) elements, worst relative error \(worst)")
    }

    func testFinetune() throws { try check(.finetune) }
    func testBitFit() throws { try check(.bitfit) }
    func testAdapter() throws { try check(.adapter) }
    func testPrefix() throws { try check(.prefix) }
    func testLoRA() throws { try check(.lora) }
    func testUniPELTAP() throws { try check(.unipeltAP) }
    func testUniPELTAPL() throws { try check(.unipeltAPL, pooling: .masked) }
    func testUniPELTAPLNoGate() throws { try check(.unipeltAPLNoGate) }
}
