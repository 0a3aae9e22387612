import Tensor

/// The Pfeiffer adapter after the FFN: h = LN(f + a + g·Up(ReLU(Down(LN(f + a))))), the
/// block's output LayerNorm applied twice, the gate (when present) reading x = LN(f + a).
struct AdapterLayer {
    let down: LinearLayer
    let up: LinearLayer
    let gate: GateLayer?

    struct Activations {
        let gate: GateLayer.Activations
        /// x = LN(f + a), its statistics, ReLU(down(x)) (N, m), up(·) (N, H) before the gate,
        /// the second LayerNorm's input f + a + g·h_A and its statistics.
        let normalized: UnsafeMutablePointer<Float>
        let bottleneck: UnsafeMutablePointer<Float>
        let adapted: UnsafeMutablePointer<Float>
        let outputSum: UnsafeMutablePointer<Float>
        let outputStats: RowStats
    }

    /// residual = f + a (the first LayerNorm's input, with `residualStats`), already normalised into
    /// act.normalized by the caller's LayerNorm; writes the layer output.
    func forward(residual: UnsafePointer<Float>, layerNorm: LayerNormLayer, _ act: Activations,
                 scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, shape: StepShape) {
        let n = shape.tokens, H = up.outFeatures
        if let gate {
            gate.forward(act.normalized, act.gate, shape: shape)
        } else {
            Buffer.fill(act.gate.values, shape.batch, 1)
        }
        down.forward(act.normalized, act.bottleneck, rows: n, workers: shape.workers)
        ReLU.forward(x: act.bottleneck, y: act.bottleneck, count: n * down.outFeatures)
        up.forward(act.bottleneck, act.adapted, rows: n, workers: shape.workers)
        let gated: UnsafePointer<Float>
        if gate != nil {
            SampleScale.forward(act.adapted, scales: act.gate.values, scratch, batch: shape.batch,
                                rowsPerSample: shape.seqLen, width: H)
            gated = UnsafePointer(scratch)
        } else {
            gated = UnsafePointer(act.adapted)
        }
        layerNorm.forward(adding: residual, gated, sum: act.outputSum, y: output, stats: act.outputStats, rows: n,
                          workers: shape.workers)
    }

    /// dout = ∂L/∂output; accumulates into dresidual = ∂L/∂(f + a) (which must start zeroed).
    func backward(dout: UnsafePointer<Float>, residual: UnsafePointer<Float>, residualStats: RowStats,
                  layerNorm: LayerNormLayer, _ act: Activations, dresidual: UnsafeMutablePointer<Float>,
                  scratch: AdapterScratch, gateScratch: GateScratch, shape: StepShape) {
        let n = shape.tokens, H = up.outFeatures, m = down.outFeatures
        // Second LayerNorm: its input is residual + g·h_A, so dresidual gets the same gradient directly.
        layerNorm.backward(dout, input: act.outputSum, stats: act.outputStats, dx: dresidual, rows: n,
                           workers: shape.workers)
        let dadapted: UnsafePointer<Float>
        if gate != nil {
            SampleScale.dot(dresidual, act.adapted, into: gateScratch.dvalues, batch: shape.batch,
                            rowsPerSample: shape.seqLen, width: H)
            SampleScale.forward(dresidual, scales: act.gate.values, scratch.dadapted, batch: shape.batch,
                                rowsPerSample: shape.seqLen, width: H)
            dadapted = UnsafePointer(scratch.dadapted)
        } else {
            dadapted = UnsafePointer(dresidual)
        }
        up.backward(dadapted, act.bottleneck, dx: scratch.dbottleneck, overwrite: true, rows: n, workers: shape.workers)
        Buffer.zero(scratch.dpreactivation, n * m)
        ReLU.backward(y: act.bottleneck, dy: scratch.dbottleneck, dx: scratch.dpreactivation, count: n * m)
        down.backward(scratch.dpreactivation, act.normalized, dx: scratch.dnormalized, overwrite: true, rows: n,
                      workers: shape.workers)
        if let gate {
            gate.backward(dvalues: gateScratch.dvalues, act.normalized, act.gate, dx: scratch.dnormalized,
                          scratch: gateScratch, shape: shape)
        }
        // First LayerNorm (same γ, β): x = LN(residual).
        layerNorm.backward(scratch.dnormalized, input: residual, stats: residualStats, dx: dresidual, rows: n,
                           workers: shape.workers)
    }
}

struct AdapterScratch {
    let dadapted: UnsafeMutablePointer<Float>
    let dbottleneck: UnsafeMutablePointer<Float>
    let dpreactivation: UnsafeMutablePointer<Float>
    let dnormalized: UnsafeMutablePointer<Float>
}
