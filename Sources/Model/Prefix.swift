import Tensor

/// The encoder prefix, as the official UniPELT code: P = MLP(E) with MLP = Linear(H→W), tanh,
/// Linear(W→2·layers·H), computed once per forward (it has no input dependence) and shared by every sample.
/// Column layout (2ℓ + s)·H + head·d + j, s = 0 keys / 1 values, so layer ℓ's keys are the (L, H) block at
/// column 2ℓ·H with row stride 2·layers·H, read in place by attention.
struct PrefixEncoder {
    let embedding: Weight
    let mlpIn: LinearLayer
    let mlpOut: LinearLayer
    let length: Int
    let hidden: Int
    let gated: Bool

    struct Activations {
        /// tanh(E·W₁ᵀ + b₁) (L, W) and the key/value block P (L, 2·layers·H) with its gradient.
        let middle: UnsafeMutablePointer<Float>
        let keyValues: UnsafeMutablePointer<Float>
        let dkeyValues: UnsafeMutablePointer<Float>
        let dmiddle: UnsafeMutablePointer<Float>
        let dmiddlePre: UnsafeMutablePointer<Float>
    }

    var rowStride: Int { mlpOut.outFeatures }

    func forward(_ act: Activations, workers: StepWorkers) {
        mlpIn.forward(embedding.value, act.middle, rows: length, workers: workers)
        Tanh.forward(x: act.middle, y: act.middle, count: length * mlpIn.outFeatures)
        mlpOut.forward(act.middle, act.keyValues, rows: length, workers: workers)
    }

    /// From act.dkeyValues (accumulated by every layer's attention backward) into the MLP and E.
    func backward(_ act: Activations, workers: StepWorkers) {
        let width = mlpIn.outFeatures
        Buffer.zero(act.dmiddle, length * width)
        mlpOut.backward(act.dkeyValues, act.middle, dx: act.dmiddle, rows: length, workers: workers)
        Buffer.zero(act.dmiddlePre, length * width)
        Tanh.backward(y: act.middle, dy: act.dmiddle, dx: act.dmiddlePre, count: length * width)
        mlpIn.backward(act.dmiddlePre, embedding.value, dx: embedding.grad, rows: length, workers: workers)
    }

    /// Layer ℓ's prefix keys (s = 0) or values (s = 1) inside a (L, 2·layers·H) block.
    func block(_ base: UnsafeMutablePointer<Float>, layer: Int, values: Bool) -> UnsafeMutablePointer<Float> {
        base + (2 * layer + (values ? 1 : 0)) * hidden
    }
}
