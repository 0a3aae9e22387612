/// The (batch, sequence) of the current step and the masks derived from the batch.
struct StepShape {
    let batch: Int
    let seqLen: Int
    /// (B, T): 1 for real tokens, 0 for padding.
    let tokenMask: UnsafePointer<Float>
    /// (B, L + T): BERT's additive mask, 0 for prefix positions and real tokens, −10000 for padding.
    let additiveMask: UnsafePointer<Float>
    let prefixLength: Int
    let training: Bool
    /// The model's threads for independent work (samples, row blocks).
    let workers: StepWorkers

    var tokens: Int { batch * seqLen }
    /// Keys per query: the prefix, then the tokens.
    var keys: Int { prefixLength + seqLen }
}

/// Where BERT applies dropout; the golden tests inject PyTorch's masks by these names.
public enum DropoutSite: Hashable, Sendable {
    case embeddings
    case attentionProbs(layer: Int)
    case attentionOutput(layer: Int)
    case output(layer: Int)
    case classifier

    /// The golden files' tensor name.
    public var key: String {
        switch self {
        case .embeddings: return "dropout.embeddings"
        case let .attentionProbs(l): return "dropout.attention_probs.\(l)"
        case let .attentionOutput(l): return "dropout.attention_output.\(l)"
        case let .output(l): return "dropout.output.\(l)"
        case .classifier: return "dropout.classifier"
        }
    }
}

/// Fills a dropout mask (0 or 1/(1−p) per element) for a site; only called in training with p > 0.
typealias MaskFiller = (DropoutSite, UnsafeMutablePointer<Float>, Int) -> Void
