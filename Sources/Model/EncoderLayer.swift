import Tensor

/// One post-LN BERT layer with its PELT submodules (LoRA in the QKV product, the prefix in attention, the
/// adapter after the FFN), forward then backward in reverse.
struct EncoderLayer {
    let index: Int
    /// Query, key and value as one (3H × H) product: their tensors are adjacent in every buffer.
    let qkv: LinearLayer
    let loraQuery: LoRALayer?
    let loraValue: LoRALayer?
    let prefixGate: GateLayer?
    let attention: SelfAttention
    let attentionOutput: LinearLayer
    let attentionNorm: LayerNormLayer
    let intermediate: LinearLayer
    let output: LinearLayer
    let outputNorm: LayerNormLayer
    let adapter: AdapterLayer?
    let hiddenDropout: Float

    struct Activations {
        let qkv: UnsafeMutablePointer<Float>            // (N, 3H)
        let loraQuery: LoRALayer.Activations?
        let loraValue: LoRALayer.Activations?
        let prefixGate: GateLayer.Activations?
        let attention: SelfAttention.Activations
        let context: UnsafeMutablePointer<Float>        // (N, H)
        let attentionDropMask: UnsafeMutablePointer<Float>
        let attentionSum: UnsafeMutablePointer<Float>   // dropout(ctx·W_Oᵀ + b_O) + h_in
        let attentionStats: RowStats
        let attended: UnsafeMutablePointer<Float>       // a
        let intermediatePre: UnsafeMutablePointer<Float> // (N, I)
        let intermediateAct: UnsafeMutablePointer<Float> // GELU, (N, I)
        let ffnOut: UnsafeMutablePointer<Float>         // f, after dropout
        let outputDropMask: UnsafeMutablePointer<Float>
        let residualSum: UnsafeMutablePointer<Float>    // f + a
        let residualStats: RowStats
        let adapter: AdapterLayer.Activations?
        let out: UnsafeMutablePointer<Float>            // the layer output
    }

    /// (B, H) rows gathered at each sample's first position, for `forwardFirstTokens`.
    struct FirstTokens {
        let context: UnsafeMutablePointer<Float>
        let input: UnsafeMutablePointer<Float>
    }

    struct Scratch {
        let hidden: UnsafeMutablePointer<Float>         // (N, H) forward temporary
        let dresidual: UnsafeMutablePointer<Float>
        let dattended: UnsafeMutablePointer<Float>
        let dintermediateAct: UnsafeMutablePointer<Float>
        let dintermediatePre: UnsafeMutablePointer<Float>
        let dattentionSum: UnsafeMutablePointer<Float>
        let dcontext: UnsafeMutablePointer<Float>
        let dqkv: UnsafeMutablePointer<Float>
        let attention: AttentionScratch
        let gate: GateScratch
        let lora: LoRAScratch
        let adapter: AdapterScratch
    }

    private var hidden: Int { attention.hidden }

    /// The prefix as attention reads it for this layer.
    private func prefixView(_ prefix: PrefixEncoder?, _ prefixAct: PrefixEncoder.Activations?,
                            _ act: Activations) -> SelfAttention.Prefix? {
        guard let prefix, let prefixAct, let gateAct = act.prefixGate else { return nil }
        return SelfAttention.Prefix(keys: prefix.block(prefixAct.keyValues, layer: index, values: false),
                                    values: prefix.block(prefixAct.keyValues, layer: index, values: true),
                                    rowStride: prefix.rowStride, scales: gateAct.values)
    }

    func forward(_ input: UnsafePointer<Float>, _ act: Activations, prefix: PrefixEncoder?,
                 prefixAct: PrefixEncoder.Activations?, scratch: Scratch, shape: StepShape, fillMask: MaskFiller) {
        attend(input, act, prefix: prefix, prefixAct: prefixAct, shape: shape, fillMask: fillMask, firstQueryOnly: false)
        transform(context: act.context, input: input, act, scratch: scratch, shape: shape, fillMask: fillMask)
    }

    /// Whether `forwardFirstTokens` computes exactly what `forward` computes at each sample's first position:
    /// everything after attention is per position, unless a gate pools over the positions of its output.
    var firstTokensAreSelfContained: Bool { adapter?.gate == nil }

    /// Inference of a last layer whose output is read only at each sample's first position ([CLS]): gates,
    /// queries, keys and values over all tokens, then attention for the first query only and the rest of the
    /// layer on B rows instead of B·T. `first` holds (B, H) gathered rows; the outputs land at rows b·T of
    /// `act.out`, as `forward` leaves them.
    func forwardFirstTokens(_ input: UnsafePointer<Float>, _ act: Activations, prefix: PrefixEncoder?,
                            prefixAct: PrefixEncoder.Activations?, scratch: Scratch, first: FirstTokens,
                            shape: StepShape, fillMask: MaskFiller) {
        precondition(firstTokensAreSelfContained && !shape.training, "first-token inference of layer \(index)")
        let B = shape.batch, T = shape.seqLen, H = hidden
        attend(input, act, prefix: prefix, prefixAct: prefixAct, shape: shape, fillMask: fillMask, firstQueryOnly: true)
        for b in 0..<B {
            Buffer.copy(act.context + b * T * H, first.context + b * H, H)
            Buffer.copy(input + b * T * H, first.input + b * H, H)
        }
        let rows = StepShape(batch: B, seqLen: 1, tokenMask: shape.tokenMask, additiveMask: shape.additiveMask,
                             prefixLength: shape.prefixLength, training: false, workers: shape.workers)
        transform(context: first.context, input: first.input, act, scratch: scratch, shape: rows, fillMask: fillMask)
        // Compact row b moves to row b·T ≥ b; from the last sample down, no row is overwritten before it moves.
        for b in stride(from: B - 1, through: 1, by: -1) { Buffer.copy(act.out + b * H, act.out + b * T * H, H) }
    }

    /// Gates (they read the layer input; the prefix gate scales both prefix keys and values), QKV with LoRA, and
    /// attention into `act.context`.
    private func attend(_ input: UnsafePointer<Float>, _ act: Activations, prefix: PrefixEncoder?,
                        prefixAct: PrefixEncoder.Activations?, shape: StepShape, fillMask: MaskFiller,
                        firstQueryOnly: Bool) {
        if let gateAct = act.prefixGate {
            if let prefixGate { prefixGate.forward(input, gateAct, shape: shape) }
            else { Buffer.fill(gateAct.values, shape.batch, 1) }
        }
        qkv.forward(input, act.qkv, rows: shape.tokens, workers: shape.workers)
        if let loraQuery, let a = act.loraQuery { loraQuery.forward(input, qkv: act.qkv, a, shape: shape) }
        if let loraValue, let a = act.loraValue { loraValue.forward(input, qkv: act.qkv, a, shape: shape) }
        attention.forward(qkv: act.qkv, prefix: prefixView(prefix, prefixAct, act), context: act.context,
                          act.attention, layer: index, shape: shape, fillMask: fillMask, firstQueryOnly: firstQueryOnly)
    }

    /// Attention output, its residual LayerNorm, the FFN and the output LayerNorm (with the adapter inside it),
    /// over `shape.tokens` rows of `context` and `input`, into `act.out`.
    private func transform(context: UnsafePointer<Float>, input: UnsafePointer<Float>, _ act: Activations,
                           scratch: Scratch, shape: StepShape, fillMask: MaskFiller) {
        let n = shape.tokens, H = hidden
        let dropping = shape.training && hiddenDropout > 0
        attentionOutput.forward(context, scratch.hidden, rows: n, workers: shape.workers)
        if dropping {
            fillMask(.attentionOutput(layer: index), act.attentionDropMask, n * H)
            Dropout.forward(x: scratch.hidden, mask: act.attentionDropMask, y: scratch.hidden, count: n * H)
        }
        attentionNorm.forward(adding: scratch.hidden, input, sum: act.attentionSum, y: act.attended,
                              stats: act.attentionStats, rows: n, workers: shape.workers)
        intermediate.forward(act.attended, act.intermediatePre, rows: n, workers: shape.workers)
        let I = intermediate.outFeatures
        shape.workers.rows(n) { r in
            GELU.forward(x: act.intermediatePre + r.lowerBound * I, y: act.intermediateAct + r.lowerBound * I,
                         count: r.count * I)
        }
        output.forward(act.intermediateAct, act.ffnOut, rows: n, workers: shape.workers)
        if dropping {
            fillMask(.output(layer: index), act.outputDropMask, n * H)
            Dropout.forward(x: act.ffnOut, mask: act.outputDropMask, y: act.ffnOut, count: n * H)
        }
        if let adapter, let adapterAct = act.adapter {
            outputNorm.forward(adding: act.ffnOut, act.attended, sum: act.residualSum, y: adapterAct.normalized,
                               stats: act.residualStats, rows: n, workers: shape.workers)
            adapter.forward(residual: act.residualSum, layerNorm: outputNorm, adapterAct, scratch: scratch.hidden,
                            output: act.out, shape: shape)
        } else {
            outputNorm.forward(adding: act.ffnOut, act.attended, sum: act.residualSum, y: act.out,
                               stats: act.residualStats, rows: n, workers: shape.workers)
        }
    }

    /// dout = ∂L/∂out. Accumulates every trained gradient and, when `dinput` is given, writes ∂L/∂input into it.
    /// `needsLower`: whether anything below the adapter (attention, FFN, input) needs a gradient.
    func backward(dout: UnsafePointer<Float>, _ input: UnsafePointer<Float>, _ act: Activations,
                  prefix: PrefixEncoder?, prefixAct: PrefixEncoder.Activations?, dinput: UnsafeMutablePointer<Float>?,
                  needsLower: Bool, scratch: Scratch, shape: StepShape) {
        let n = shape.tokens, H = hidden, I = intermediate.outFeatures
        let dropping = shape.training && hiddenDropout > 0
        // Output LayerNorm (and the adapter inside it) → d(f + a).
        Buffer.zero(scratch.dresidual, n * H)
        if let adapter, let adapterAct = act.adapter {
            adapter.backward(dout: dout, residual: act.residualSum, residualStats: act.residualStats,
                             layerNorm: outputNorm, adapterAct, dresidual: scratch.dresidual,
                             scratch: scratch.adapter, gateScratch: scratch.gate, shape: shape)
        } else {
            outputNorm.backward(dout, input: act.residualSum, stats: act.residualStats, dx: scratch.dresidual, rows: n,
                                workers: shape.workers)
        }
        guard needsLower else { return }
        // FFN: da = d(f + a) + W₁ᵀ-path; f was dropped after W₂.
        Buffer.copy(scratch.dresidual, scratch.dattended, n * H)
        if dropping { Elementwise.multiply(scratch.dresidual, act.outputDropMask, scratch.dresidual, n * H) }
        output.backward(scratch.dresidual, act.intermediateAct, dx: scratch.dintermediateAct, overwrite: true, rows: n,
                        workers: shape.workers)
        Buffer.zero(scratch.dintermediatePre, n * I)
        shape.workers.rows(n) { r in
            let o = r.lowerBound * I
            GELU.backward(x: act.intermediatePre + o, dy: scratch.dintermediateAct + o, dx: scratch.dintermediatePre + o,
                          count: r.count * I)
        }
        intermediate.backward(scratch.dintermediatePre, act.attended, dx: scratch.dattended, rows: n,
                              workers: shape.workers)
        // Attention LayerNorm → d(dropout(dense) + input); the input's share is the residual.
        Buffer.zero(scratch.dattentionSum, n * H)
        attentionNorm.backward(scratch.dattended, input: act.attentionSum, stats: act.attentionStats,
                               dx: scratch.dattentionSum, rows: n, workers: shape.workers)
        if let dinput { Buffer.copy(scratch.dattentionSum, dinput, n * H) }
        if dropping {
            Elementwise.multiply(scratch.dattentionSum, act.attentionDropMask, scratch.dattentionSum, n * H)
        }
        attentionOutput.backward(scratch.dattentionSum, act.context, dx: scratch.dcontext, overwrite: true, rows: n,
                                 workers: shape.workers)
        let prefixIn = prefixView(prefix, prefixAct, act)
        attention.backward(dcontext: scratch.dcontext, qkv: act.qkv, prefix: prefixIn, dqkv: scratch.dqkv,
                           act.attention, scratch: scratch.attention, shape: shape)
        if let prefix, let prefixAct, let prefixIn {
            prefixBackward(prefix, prefixAct, prefixIn, input: input, act: act, dinput: dinput,
                           scratch: scratch, shape: shape)
        }
        if let loraQuery, let a = act.loraQuery {
            loraQuery.backward(dqkv: scratch.dqkv, input, a, dx: dinput, scratch: scratch.lora,
                               gateScratch: scratch.gate, shape: shape)
        }
        if let loraValue, let a = act.loraValue {
            loraValue.backward(dqkv: scratch.dqkv, input, a, dx: dinput, scratch: scratch.lora,
                               gateScratch: scratch.gate, shape: shape)
        }
        qkv.backward(scratch.dqkv, input, dx: dinput, rows: n, workers: shape.workers)
    }

    /// The gated prefix g·P: P gets Σ_b g[b]·∂L/∂(gP)[b] in the shared (L, 2·layers·H) gradient block, and the
    /// gate gets ⟨P, ∂L/∂(gP)[b]⟩ per sample.
    private func prefixBackward(_ prefix: PrefixEncoder, _ prefixAct: PrefixEncoder.Activations,
                                _ view: SelfAttention.Prefix, input: UnsafePointer<Float>, act: Activations,
                                dinput: UnsafeMutablePointer<Float>?, scratch: Scratch, shape: StepShape) {
        let L = shape.prefixLength, H = hidden
        let dkeys = prefix.block(prefixAct.dkeyValues, layer: index, values: false)
        let dvalues = prefix.block(prefixAct.dkeyValues, layer: index, values: true)
        for b in 0..<shape.batch {
            let g = view.scales[b]
            var dg: Float = 0
            for t in 0..<L {
                let row = t * prefix.rowStride
                let dk = scratch.attention.dprefixKeys + (b * L + t) * H
                let dv = scratch.attention.dprefixValues + (b * L + t) * H
                Elementwise.axpy(g, dk, dkeys + row, H)
                Elementwise.axpy(g, dv, dvalues + row, H)
                if prefixGate != nil { dg += Reduce.dot(view.keys + row, dk, H) + Reduce.dot(view.values + row, dv, H) }
            }
            scratch.gate.dvalues[b] = dg
        }
        if let prefixGate, let gateAct = act.prefixGate {
            prefixGate.backward(dvalues: scratch.gate.dvalues, input, gateAct, dx: dinput, scratch: scratch.gate,
                                shape: shape)
        }
    }
}
