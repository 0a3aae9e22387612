/// Matrix-product FLOPs (2·m·n·k per product) of one training step or one inference forward, walking the same
/// layers and the same skip decisions as forward and backward, for the benchmarks' GFLOP/s and SGEMM-floor figures.
extension BertModel {
    public func trainingStepFLOPs(batch B: Int, seqLen T: Int) -> Double {
        let flops = productFLOPs(batch: B, seqLen: T, firstTokensInLastLayer: false)
        return flops.forward + flops.backward
    }

    /// One inference forward over a (B, T) batch, as an inference model runs it (the last layer computes only
    /// the [CLS] rows when that is exact).
    public func inferenceFLOPs(batch B: Int, seqLen T: Int) -> Double {
        productFLOPs(batch: B, seqLen: T, firstTokensInLastLayer: true).forward
    }

    private func productFLOPs(batch B: Int, seqLen T: Int,
                              firstTokensInLastLayer: Bool) -> (forward: Double, backward: Double) {
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
            let firstOnly = firstTokensInLastLayer && l == layers.count - 1 && layer.firstTokensAreSelfContained
            let rows = firstOnly ? Double(B) : N
            forward += 2 * attentionProduct * (firstOnly ? 1 / Double(T) : 1)
            if lower { backward += 4 * attentionProduct }
            linear(layer.attentionOutput, rows: rows, dx: lower)
            linear(layer.intermediate, rows: rows, dx: lower)
            linear(layer.output, rows: rows, dx: lower)
            if let adapter = layer.adapter {
                linear(adapter.down, rows: rows, dx: true)
                linear(adapter.up, rows: rows, dx: true)
                if let gate = adapter.gate { linear(gate.linear, rows: rows, dx: true) }
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
