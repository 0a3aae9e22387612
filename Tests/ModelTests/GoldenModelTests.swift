import Foundation
import Tensor
import XCTest
@testable import Model
import TestSupport

/// One forward and backward per method against the PyTorch reference (Tests/Scripts/model_golden.py):
/// logits, loss, gate values and the gradient of every trainable tensor, element by element.
final class GoldenModelTests: XCTestCase {
    static let backbone = try! Golden.tinyBackbone()

    private func run(_ name: String) throws {
        let file = try Golden.file(name)
        let meta = file.metadata
        let method = try Method(name: meta["method"]!)
        let numLabels = Int(meta["num_labels"]!)!
        let gated = method == .unipeltAP || method == .unipeltAPL
        var pelt = PELTConfig.method(method, hiddenSize: Self.backbone.config.hiddenSize)
        if pelt.adapter != nil { pelt.adapter!.bottleneck = Int(meta["bottleneck"]!)! }
        if pelt.prefix != nil {
            pelt.prefix!.length = Int(meta["prefix_length"]!)!
            pelt.prefix!.mlpWidth = Int(meta["prefix_mlp_width"]!)!
        }
        if pelt.lora != nil { pelt.lora!.rank = Int(meta["lora_rank"]!)! }
        XCTAssertEqual(pelt.hasGates, gated)
        pelt.gatePooling = GatePooling(rawValue: meta["gate_pooling"]!)!
        pelt.classifier = ClassifierTraining(rawValue: meta["classifier"]!)!
        let batch = try Golden.batch(file, numLabels: numLabels)
        let model = try BertModel(backbone: Self.backbone, pelt: pelt, numLabels: numLabels, maxBatch: 4,
                                  maxSeqLen: 16, seed: 9)

        // Weights: the PELT tensors and head from the file; finetune/BitFit copies already equal the backbone.
        for p in model.parameters.parameters {
            if let w = file.tensors["weight." + p.name] {
                try model.parameters.setValue(p.name, w.toArray())
            } else {
                XCTAssert(p.spec.initializer == .copyOfBackbone, "\(name): no golden weight for \(p.name)")
            }
        }
        // The trainable set is exactly PyTorch's.
        let expectedTrainable = Set(file.names.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) })
        XCTAssertEqual(Set(model.parameters.trainable.map(\.name)), expectedTrainable, "\(name): trainable set")

        let dropout = meta["dropout"] == "true"
        if dropout {
            model.dropoutMaskOverride = { site, mask in
                let values = file.tensors[site.key]!.toArray()
                precondition(values.count == mask.count, "\(site.key): \(values.count) vs \(mask.count)")
                _ = mask.initialize(from: values)
            }
        }
        model.parameters.zeroGradients()
        let loss = try model.forward(batch, training: dropout)
        model.backward()

        var worst: (String, Float) = ("", 0)
        func check(_ actual: [Float], _ key: String) throws {
            let err = assertClose(actual, try Golden.array(file, key), rtol: 1e-4, atol: 1e-5, "\(name) \(key)")
            if err > worst.1 { worst = (key, err) }
        }
        try check([loss], "output.loss")
        try check(model.logits, "output.logits")
        let gates = model.gateValues
        let expectedGates = file.names.filter { $0.hasPrefix("gate.") }
        XCTAssertEqual(gates.count, expectedGates.count, "\(name): number of gates")
        let siteKey: [GateSite: String] = [.adapter: "adapter", .prefix: "prefix", .loraQuery: "lora_query",
                                           .loraValue: "lora_value"]
        for g in gates { try check(g.perSample, "gate.\(g.layer).\(siteKey[g.site]!)") }
        for p in model.parameters.trainable { try check(Array(p.gradient), "grad." + p.name) }
        print("golden \(name): loss \(loss), \(model.parameters.trainable.count) gradients, max |Δ| \(worst.1) (\(worst.0))")
    }

    func testFinetune() throws { try run("finetune") }
    func testBitFit() throws { try run("bitfit") }
    func testAdapter() throws { try run("adapter") }
    func testPrefix() throws { try run("prefix") }
    func testLoRA() throws { try run("lora") }
    func testUniPELTAP() throws { try run("unipelt-ap") }
    func testUniPELTAPL() throws { try run("unipelt-apl") }
    func testUniPELTAPLNoGate() throws { try run("unipelt-apl-nogate") }
    func testRegressionUniPELTAPL() throws { try run("regression-unipelt-apl") }
    func testMaskedGatePoolingUniPELTAPL() throws { try run("masked-unipelt-apl") }
    func testDropoutUniPELTAPL() throws { try run("dropout-unipelt-apl") }
    func testDropoutFinetune() throws { try run("dropout-finetune") }
}
