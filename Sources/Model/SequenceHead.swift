import Tensor

/// Pooler (tanh of a Linear on the [CLS] vector) and the classification / regression head with its loss
/// (BertForSequenceClassification): logits = dropout(pooled)·W_cᵀ + b_c; cross-entropy for n > 1 labels,
/// MSE for one.
struct SequenceHead {
    let pooler: LinearLayer
    let classifier: LinearLayer
    let dropout: Float

    var numLabels: Int { classifier.outFeatures }

    struct Activations {
        let cls: UnsafeMutablePointer<Float>       // (B, H)
        let pooled: UnsafeMutablePointer<Float>    // tanh output, (B, H)
        let dropMask: UnsafeMutablePointer<Float>
        let dropped: UnsafeMutablePointer<Float>
        let logits: UnsafeMutablePointer<Float>    // (B, n)
        let dlogits: UnsafeMutablePointer<Float>
    }

    struct Scratch {
        let ddropped: UnsafeMutablePointer<Float>
        let dpooled: UnsafeMutablePointer<Float>
        let dcls: UnsafeMutablePointer<Float>
    }

    /// Runs the head on the encoder output and returns the mean loss; dlogits is kept for backward.
    func forward(_ encoded: UnsafePointer<Float>, labels: LabelBuffer, _ act: Activations, shape: StepShape,
                 fillMask: MaskFiller) -> Float {
        let B = shape.batch, H = pooler.inFeatures
        for b in 0..<B { Buffer.copy(encoded + b * shape.seqLen * H, act.cls + b * H, H) }
        pooler.forward(act.cls, act.pooled, rows: B, workers: shape.workers)
        Tanh.forward(x: act.pooled, y: act.pooled, count: B * H)
        var features = UnsafePointer(act.pooled)
        if shape.training && dropout > 0 {
            fillMask(.classifier, act.dropMask, B * H)
            Dropout.forward(x: act.pooled, mask: act.dropMask, y: act.dropped, count: B * H)
            features = UnsafePointer(act.dropped)
        }
        classifier.forward(features, act.logits, rows: B, workers: shape.workers)
        Buffer.zero(act.dlogits, B * numLabels)
        switch labels {
        case .classes(let ids):
            return CrossEntropy.forwardBackward(logits: act.logits, labels: ids, dlogits: act.dlogits, batch: B,
                                                classes: numLabels)
        case .values(let targets):
            return MeanSquaredError.forwardBackward(prediction: act.logits, target: targets, dprediction: act.dlogits,
                                                    count: B)
        }
    }

    /// Writes ∂L/∂encoded into dencoded (N, H): zero except the [CLS] rows.
    func backward(_ act: Activations, dencoded: UnsafeMutablePointer<Float>, scratch: Scratch, shape: StepShape) {
        let B = shape.batch, H = pooler.inFeatures
        let dropping = shape.training && dropout > 0
        Buffer.zero(scratch.ddropped, B * H)
        classifier.backward(act.dlogits, dropping ? act.dropped : act.pooled, dx: scratch.ddropped, rows: B,
                            workers: shape.workers)
        if dropping { Elementwise.multiply(scratch.ddropped, act.dropMask, scratch.ddropped, B * H) }
        Buffer.zero(scratch.dpooled, B * H)
        Tanh.backward(y: act.pooled, dy: scratch.ddropped, dx: scratch.dpooled, count: B * H)
        Buffer.zero(scratch.dcls, B * H)
        pooler.backward(scratch.dpooled, act.cls, dx: scratch.dcls, rows: B, workers: shape.workers)
        Buffer.zero(dencoded, shape.tokens * H)
        for b in 0..<B { Buffer.copy(scratch.dcls + b * H, dencoded + b * shape.seqLen * H, H) }
    }
}

/// The current batch's labels in the model's own buffers.
enum LabelBuffer {
    case classes(UnsafePointer<Int32>)
    case values(UnsafePointer<Float>)
}
