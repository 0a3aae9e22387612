import Tensor

/// LoRA on one of the fused QKV projections: y[:, block] += s[b]·(x·Aᵀ)·Bᵀ, where s is the
/// gate value per sample when gated, else the fixed α/r scale.
struct LoRALayer {
    /// A: (r, H) as a bias-free Linear H→r; B: (H, r) as a bias-free Linear r→H.
    let down: LinearLayer
    let up: LinearLayer
    let gate: GateLayer?
    let fixedScale: Float
    /// Column offset of the adapted projection inside the (N, 3H) QKV output.
    let column: Int

    struct Activations {
        let gate: GateLayer.Activations
        /// x·Aᵀ (N, r) and s·x·Aᵀ (N, r).
        let projected: UnsafeMutablePointer<Float>
        let scaled: UnsafeMutablePointer<Float>
    }

    /// Gate first (its input is the layer input x), then the low-rank update added into qkv.
    func forward(_ x: UnsafePointer<Float>, qkv: UnsafeMutablePointer<Float>, _ act: Activations, shape: StepShape) {
        if let gate {
            gate.forward(x, act.gate, shape: shape)
        } else {
            Buffer.fill(act.gate.values, shape.batch, fixedScale)
        }
        down.forward(x, act.projected, rows: shape.tokens, workers: shape.workers)
        SampleScale.forward(act.projected, scales: act.gate.values, act.scaled, batch: shape.batch,
                            rowsPerSample: shape.seqLen, width: down.outFeatures)
        up.forward(act.scaled, qkv + column, rows: shape.tokens, ldOut: 3 * up.outFeatures, accumulate: true,
                   workers: shape.workers)
    }

    /// dqkv holds ∂L/∂(QKV); accumulates A, B, gate gradients and (when asked) dx.
    func backward(dqkv: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ act: Activations,
                  dx: UnsafeMutablePointer<Float>?, scratch: LoRAScratch, gateScratch: GateScratch, shape: StepShape) {
        let n = shape.tokens, r = down.outFeatures
        up.backward(dqkv + column, act.scaled, dx: scratch.dscaled, overwrite: true, rows: n, ldDout: 3 * up.outFeatures,
                    workers: shape.workers)
        if let gate {
            SampleScale.dot(scratch.dscaled, act.projected, into: gateScratch.dvalues, batch: shape.batch,
                            rowsPerSample: shape.seqLen, width: r)
            gate.backward(dvalues: gateScratch.dvalues, x, act.gate, dx: dx, scratch: gateScratch, shape: shape)
        }
        SampleScale.forward(scratch.dscaled, scales: act.gate.values, scratch.dprojected, batch: shape.batch,
                            rowsPerSample: shape.seqLen, width: r)
        down.backward(scratch.dprojected, x, dx: dx, rows: n, workers: shape.workers)
    }
}

struct LoRAScratch {
    let dscaled: UnsafeMutablePointer<Float>
    let dprojected: UnsafeMutablePointer<Float>
}
