import Tensor

/// e = LayerNorm(W_word[ids] + W_type[types] + W_pos[positions]), then dropout (as Hugging Face's BertEmbeddings).
struct Embeddings {
    let word: Weight
    let position: Weight
    let tokenType: Weight
    let norm: LayerNormLayer
    let vocabSize: Int
    let maxPositions: Int
    let typeVocabSize: Int
    let dropout: Float

    struct Activations {
        let sum: UnsafeMutablePointer<Float>   // (N, H), the LayerNorm input
        let stats: RowStats
        let out: UnsafeMutablePointer<Float>   // (N, H)
        let dropMask: UnsafeMutablePointer<Float>
    }

    struct Inputs {
        let ids: UnsafePointer<Int32>
        let types: UnsafePointer<Int32>
        let positions: UnsafePointer<Int32>
    }

    /// Whether backward has anything to do (BitFit's LayerNorm β, full fine-tuning's tables).
    var trains: Bool { norm.trains || word.grad != nil }

    func forward(_ inputs: Inputs, _ act: Activations, shape: StepShape, fillMask: MaskFiller) {
        let n = shape.tokens, H = norm.width
        Embedding.forward(ids: inputs.ids, table: word.value, vocab: vocabSize, dim: H, out: act.sum, count: n)
        Embedding.forward(ids: inputs.types, table: tokenType.value, vocab: typeVocabSize, dim: H, out: act.sum,
                          count: n, accumulate: true)
        Embedding.forward(ids: inputs.positions, table: position.value, vocab: maxPositions, dim: H, out: act.sum,
                          count: n, accumulate: true)
        norm.forward(act.sum, y: act.out, stats: act.stats, rows: n)
        if shape.training && dropout > 0 {
            fillMask(.embeddings, act.dropMask, n * H)
            Dropout.forward(x: act.out, mask: act.dropMask, y: act.out, count: n * H)
        }
    }

    /// dout (N, H) is consumed (masked in place).
    func backward(dout: UnsafeMutablePointer<Float>, _ inputs: Inputs, _ act: Activations,
                  dsum: UnsafeMutablePointer<Float>, shape: StepShape) {
        let n = shape.tokens, H = norm.width
        if shape.training && dropout > 0 { Elementwise.multiply(dout, act.dropMask, dout, n * H) }
        Buffer.zero(dsum, n * H)
        norm.backward(dout, input: act.sum, stats: act.stats, dx: dsum, rows: n, workers: shape.workers)
        if let g = word.grad { Embedding.backward(ids: inputs.ids, dout: dsum, dtable: g, vocab: vocabSize, dim: H, count: n) }
        if let g = tokenType.grad {
            Embedding.backward(ids: inputs.types, dout: dsum, dtable: g, vocab: typeVocabSize, dim: H, count: n)
        }
        if let g = position.grad {
            Embedding.backward(ids: inputs.positions, dout: dsum, dtable: g, vocab: maxPositions, dim: H, count: n)
        }
    }
}
