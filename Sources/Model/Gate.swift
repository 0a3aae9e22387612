import Tensor

/// A UniPELT gate: g[b] = mean_t σ(x[b,t]·w + c), one scalar per sample, pooled over real
/// tokens (`masked`) or over all T positions as the official code does (`unmasked`).
struct GateLayer {
    let linear: LinearLayer
    let pooling: GatePooling

    /// Per-token sigmoids (N) kept for backward; one value per sample.
    struct Activations {
        let sigmoid: UnsafeMutablePointer<Float>
        let values: UnsafeMutablePointer<Float>
    }

    func forward(_ x: UnsafePointer<Float>, _ act: Activations, shape: StepShape) {
        linear.forward(x, act.sigmoid, rows: shape.tokens, workers: shape.workers)
        Sigmoid.forward(x: act.sigmoid, y: act.sigmoid, count: shape.tokens)
        MaskedMean.forward(x: act.sigmoid, mask: pooling == .masked ? shape.tokenMask : nil, out: act.values,
                           batch: shape.batch, steps: shape.seqLen, width: 1)
    }

    /// From dvalues (B): through the mean and the sigmoid into w, c and, when asked, dx (accumulated).
    func backward(dvalues: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ act: Activations,
                  dx: UnsafeMutablePointer<Float>?, scratch: GateScratch, shape: StepShape) {
        let n = shape.tokens
        Buffer.zero(scratch.dsigmoid, n)
        Buffer.zero(scratch.dlogit, n)
        MaskedMean.backward(dout: dvalues, mask: pooling == .masked ? shape.tokenMask : nil, dx: scratch.dsigmoid,
                            batch: shape.batch, steps: shape.seqLen, width: 1)
        Sigmoid.backward(y: act.sigmoid, dy: scratch.dsigmoid, dx: scratch.dlogit, count: n)
        linear.backward(scratch.dlogit, x, dx: dx, rows: n, workers: shape.workers)
    }
}

/// Backward scratch shared by every gate (one gate's backward runs at a time).
struct GateScratch {
    let dsigmoid: UnsafeMutablePointer<Float>
    let dlogit: UnsafeMutablePointer<Float>
    /// ∂L/∂g per sample.
    let dvalues: UnsafeMutablePointer<Float>
}
