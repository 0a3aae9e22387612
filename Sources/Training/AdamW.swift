import Foundation
import Model

/// AdamW (Loshchilov & Hutter; PyTorch's torch.optim.AdamW) over a model's parameter registry: decoupled
/// weight decay p ← p·(1 − lr·λ) on tensors that take decay, then the bias-corrected Adam update. The
/// moments parallel the registry's flat buffers (llm.c), so a checkpoint saves them as two tensors.
public final class AdamW {
    public struct Hyperparameters: Equatable, Sendable {
        public var beta1: Float = 0.9
        public var beta2: Float = 0.999
        public var epsilon: Float = 1e-8
        public var weightDecay: Float = 0
        public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0) {
            self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon; self.weightDecay = weightDecay
        }
    }

    public let parameters: ParameterStore
    public let hyperparameters: Hyperparameters
    /// First and second moments, parallel to `parameters.values`.
    public let firstMoment: UnsafeMutablePointer<Float>
    public let secondMoment: UnsafeMutablePointer<Float>
    /// Updates taken so far (the bias-correction exponent).
    public var stepCount = 0
    private let updated: [OwnedParameter]

    public init(parameters: ParameterStore, hyperparameters: Hyperparameters = Hyperparameters()) {
        self.parameters = parameters
        self.hyperparameters = hyperparameters
        let n = max(parameters.count, 1)
        firstMoment = .allocate(capacity: n)
        firstMoment.initialize(repeating: 0, count: n)
        secondMoment = .allocate(capacity: n)
        secondMoment.initialize(repeating: 0, count: n)
        updated = parameters.trainable
    }

    deinit {
        firstMoment.deallocate()
        secondMoment.deallocate()
    }

    /// One update of every trainable tensor from its gradient.
    public func step(learningRate lr: Float) {
        stepCount += 1
        let h = hyperparameters
        let t = Float(stepCount)
        let correction1 = 1 - Float(pow(Double(h.beta1), Double(t))), correction2 = 1 - Float(pow(Double(h.beta2), Double(t)))
        let stepSize = lr / correction1
        let rootCorrection2 = correction2.squareRoot()
        for p in updated {
            let offset = p.value.baseAddress! - parameters.values
            let value = p.value.baseAddress!, grad = p.gradient.baseAddress!
            let m = firstMoment + offset, v = secondMoment + offset
            let decay: Float = p.weightDecay ? 1 - lr * h.weightDecay : 1
            for i in 0..<p.value.count {
                let g = grad[i]
                let mi = h.beta1 * m[i] + (1 - h.beta1) * g
                let vi = h.beta2 * v[i] + (1 - h.beta2) * g * g
                m[i] = mi
                v[i] = vi
                value[i] = value[i] * decay - stepSize * mi / (vi.squareRoot() / rootCorrection2 + h.epsilon)
            }
        }
    }
}
