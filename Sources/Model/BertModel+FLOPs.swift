/// Matrix-product FLOPs (2·m·n·k per product) of one training step or one inference forward, walking the same
/// layers and the same skip decisions as forward and backward, for the benchmarks' GFLOP/s and SGEMM-floor figures.
extension BertModel {
    public func trainingStepFLOPs(batch B: Int, seqLen T: Int) -> Double {
        let flops = productFLOPs(batch: B, seqLen: T)
        return flops.forward + flops.backward
    }

    /// One forward without backward over a (B, T) batch.
    public func inferenceFLOPs(batch B: Int, seqLen T: Int) -> Double {
        productFLOPs(batch: B, seqLen: T).forward
    }

    private func productFLOPs(batch B: Int, seqLen T: Int) -> (forward: Double, backward: Double) {
        let N = Double(B * T), c = config
        let S = Double((prefix?.length ?? 0) + T)
        // QKᵀ and P·V forward; dP, dV, dQ, dK backward.
        let attentionProduct = 2 * Double(B * c.numHeads * T) * S * Double(c.headSize)
        var forward = 0.0, backward = 0.0
        func linear(_ layer: LinearLayer, rows: Double, dx: Bool) {
            let f = 2 * rows * Double(layer.inFeatures * layer.outFeatures)
            forward += f
            backward += f * ((dx ? 1 : 0) + (layer.weight.grad != nil ? 1 : 0))
        }
        for l in 0..<layers.count {
            let layer = layers[l]
            let plan = backwardPlan(layer: l)
            let lower = plan.needsLower
            linear(layer.qkv, rows: N, dx: plan.needsInput)
            for lora in [layer.loraQuery, layer.loraValue].compactMap({ $0 }) {
                linear(lora.down, rows: N, dx: plan.needsInput)
                linear(lora.up, rows: N, dx: true)
                if let gate = lora.gate { linear(gate.linear, rows: N, dx: plan.needsInput) }
            }
            if let gate = layer.prefixGate { linear(gate.linear, rows: N, dx: plan.needsInput) }
            forward += 2 * attentionProduct
            if lower { backward += 4 * attentionProduct }
            linear(layer.attentionOutput, rows: N, dx: lower)
            linear(layer.intermediate, rows: N, dx: lower)
            linear(layer.output, rows: N, dx: lower)
            if let adapter = layer.adapter {
                linear(adapter.down, rows: N, dx: true)
                linear(adapter.up, rows: N, dx: true)
                if let gate = adapter.gate { linear(gate.linear, rows: N, dx: true) }
            }
        }
        if let prefix {
            linear(prefix.mlpIn, rows: Double(prefix.length), dx: true)
            linear(prefix.mlpOut, rows: Double(prefix.length), dx: true)
        }
        linear(head.pooler, rows: Double(B), dx: true)
        linear(head.classifier, rows: Double(B), dx: true)
        return (forward, backward)
    }
}
