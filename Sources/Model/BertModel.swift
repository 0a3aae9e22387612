import Tensor

/// A BERT sequence classifier/regressor tuned with one PELT method. It reads the shared frozen `Backbone`
/// and owns only its `parameters` (the registry), its dropout RNG and every activation buffer, planned once
/// for (maxBatch, maxSeqLen) so that forward and backward never allocate. One model per thread.
///
///     let backbone = try Backbone.load(directory: "var/models/minilm-l6")   // once per process, shared
///     let model = try BertModel(backbone: backbone, pelt: .method(.unipeltAPL, hiddenSize: 384),
///                               numLabels: 2, maxBatch: 16, maxSeqLen: 128, seed: 1)
///     model.threads = 2                      // optional worker threads (results do not depend on it)
///     model.parameters.zeroGradients()
///     let loss = try model.forward(batch, training: true)
///     model.backward()                       // accumulates into model.parameters' gradients
///     for p in model.parameters.trainable { … p.value, p.gradient, p.weightDecay … }
///     model.logits; model.gateValues          // after each forward
public final class BertModel {
    public let backbone: Backbone
    public let config: BertConfig
    public let pelt: PELTConfig
    public let numLabels: Int
    public let maxBatch: Int
    public let maxSeqLen: Int
    /// Tokens (batch × padded length) a batch may hold: maxBatch × maxSeqLen unless planned smaller.
    public let maxTokens: Int
    /// The registry of owned tensors (trainable deltas, plus a frozen head under `classifier: reference`).
    public let parameters: ParameterStore
    /// Dropout draws; part of the training state a checkpoint saves.
    public var dropoutRNG: RNG
    /// Test hook: when set, training forwards take every dropout mask (0 or 1/(1−p) per element) from it
    /// instead of the RNG, so PyTorch's masks can be replayed.
    public var dropoutMaskOverride: ((DropoutSite, UnsafeMutableBufferPointer<Float>) -> Void)?
    /// Threads a step uses: every matrix product, the per-sample attention and the row-parallel kernels are
    /// split over them, each piece a single-threaded OpenBLAS call (the model sets OpenBLAS to one thread).
    /// Results do not depend on it. Several concurrent jobs on a small machine are best served by 1 each.
    public var threads = 1 {
        didSet { if threads != workers.count { workers = StepWorkers(count: threads) } }
    }
    private(set) var workers = StepWorkers(count: 1)

    private let pool = ActivationArena()
    let embeddings: Embeddings
    let layers: [EncoderLayer]
    let prefix: PrefixEncoder?
    let head: SequenceHead
    private let embeddingAct: Embeddings.Activations
    private let layerActs: [EncoderLayer.Activations]
    private let prefixAct: PrefixEncoder.Activations?
    private let headAct: SequenceHead.Activations
    private let scratch: EncoderLayer.Scratch
    /// Inference only: the last layer's first-position rows (nobody reads its other positions).
    private let firstTokens: EncoderLayer.FirstTokens?
    private let headScratch: SequenceHead.Scratch
    private let ids, types, positions, classLabels: UnsafeMutablePointer<Int32>
    private let tokenMask, additiveMask, valueLabels: UnsafeMutablePointer<Float>
    /// Two (N, H) gradient buffers that alternate as a layer's dout and dinput in backward.
    private let gradA, gradB: UnsafeMutablePointer<Float>
    private var current: StepShape?

    /// What the activation buffers are planned for: a training step keeps every layer's activations for
    /// backward; inference keeps none, so the layers share one set of buffers (only the layer outputs alternate
    /// between two, and each layer keeps its own gate values for `gateValues`) and backward buffers are empty.
    public enum Purpose: Sendable {
        case training
        case inference
    }

    public let purpose: Purpose

    public convenience init(backbone: Backbone, pelt: PELTConfig, numLabels: Int, maxBatch: Int, maxSeqLen: Int,
                            seed: UInt64) throws {
        try self.init(backbone: backbone, pelt: pelt, numLabels: numLabels, maxBatch: maxBatch, maxSeqLen: maxSeqLen,
                      seed: seed, sharing: nil, purpose: .training)
    }

    /// An inference-only model that reads `trained`'s parameters in place (a change to them is seen at once) and
    /// plans its buffers for batches of up to `maxBatch` samples of up to `maxSeqLen` tokens and at most
    /// `maxTokens` tokens in all (batch × padded length): evaluation and prediction run on it.
    public convenience init(inferenceOf trained: BertModel, maxBatch: Int, maxSeqLen: Int, maxTokens: Int) throws {
        try self.init(backbone: trained.backbone, pelt: trained.pelt, numLabels: trained.numLabels, maxBatch: maxBatch,
                      maxSeqLen: maxSeqLen, maxTokens: maxTokens, seed: 0, sharing: trained.parameters,
                      purpose: .inference)
        threads = trained.threads
    }

    private init(backbone: Backbone, pelt: PELTConfig, numLabels: Int, maxBatch: Int, maxSeqLen: Int,
                 maxTokens: Int? = nil, seed: UInt64, sharing: ParameterStore?, purpose: Purpose) throws {
        try pelt.validate()
        self.purpose = purpose
        BLAS.setThreads(1)  // see `threads`: the model's own workers split the products
        let c = backbone.config
        guard numLabels >= 1 else { throw ModelError.invalidPELTConfig(field: "numLabels", reason: "must be ≥ 1") }
        guard maxBatch >= 1, maxSeqLen >= 1, maxSeqLen <= c.maxPositions else {
            throw ModelError.batchTooLarge(batch: maxBatch, seqLen: maxSeqLen, maxBatch: Int.max,
                                           maxSeqLen: c.maxPositions)
        }
        self.backbone = backbone
        self.config = c
        self.pelt = pelt
        self.numLabels = numLabels
        self.maxBatch = maxBatch
        self.maxSeqLen = maxSeqLen
        let store = sharing ?? ParameterStore(specs: ParameterLayout.owned(c, pelt, numLabels: numLabels))
        self.parameters = store
        var initRNG = RNG(seed: seed, stream: .initialization)
        for p in store.parameters where sharing == nil {
            let out = p.value.baseAddress!
            switch p.spec.initializer {
            case .copyOfBackbone: Buffer.copy(backbone.pointer(p.name), out, p.value.count)
            case .normal(let std): initRNG.fillNormal(out, p.value.count, std: std)
            case .uniform(let bound): initRNG.fillUniform(out, p.value.count, from: -bound, to: bound)
            case .zeros: Buffer.zero(out, p.value.count)
            }
        }
        dropoutRNG = RNG(seed: seed, stream: .dropout)

        // Weights: the model's own copy when it owns the tensor, else the shared backbone's.
        func weight(_ name: String) -> Weight {
            if let p = store.lookup(name) {
                return Weight(value: UnsafePointer(p.value.baseAddress!), grad: p.trainable ? p.gradient.baseAddress! : nil)
            }
            return Weight(value: backbone.pointer(name), grad: nil)
        }
        func linear(_ name: String, _ out: Int, _ inp: Int, bias: Bool = true) -> LinearLayer {
            LinearLayer(weight: weight(name + (bias ? ".weight" : "")), bias: bias ? weight(name + ".bias") : nil,
                        inFeatures: inp, outFeatures: out)
        }
        func layerNorm(_ name: String) -> LayerNormLayer {
            LayerNormLayer(gamma: weight(name + ".weight"), beta: weight(name + ".bias"), width: c.hiddenSize,
                           eps: c.layerNormEps)
        }
        func gate(_ name: String, _ on: Bool) -> GateLayer? {
            on ? GateLayer(linear: linear(name, 1, c.hiddenSize), pooling: pelt.gatePooling) : nil
        }
        let H = c.hiddenSize
        embeddings = Embeddings(word: weight(ParameterName.wordEmbeddings), position: weight(ParameterName.positionEmbeddings),
                                tokenType: weight(ParameterName.tokenTypeEmbeddings),
                                norm: layerNorm(ParameterName.embeddingsLayerNorm), vocabSize: c.vocabSize,
                                maxPositions: c.maxPositions, typeVocabSize: c.typeVocabSize, dropout: c.hiddenDropout)
        layers = (0..<c.numLayers).map { l in
            let q = ParameterName.query(l), k = ParameterName.key(l), v = ParameterName.value(l)
            let fused = linear(q, 3 * H, H)
            // The fused product relies on q, k, v being adjacent wherever they live.
            precondition(weight(k + ".weight").value == fused.weight.value + H * H &&
                         weight(v + ".weight").value == fused.weight.value + 2 * H * H &&
                         weight(v + ".bias").value == fused.bias!.value + 2 * H, "q/k/v of layer \(l) are not adjacent")
            func lora(_ module: String, column: Int) -> LoRALayer? {
                guard let cfg = pelt.lora else { return nil }
                return LoRALayer(down: LinearLayer(weight: weight(module + ".lora_A"), bias: nil, inFeatures: H,
                                                   outFeatures: cfg.rank),
                                 up: LinearLayer(weight: weight(module + ".lora_B"), bias: nil, inFeatures: cfg.rank,
                                                 outFeatures: H),
                                 gate: gate(module + ".lora_gate", cfg.gated), fixedScale: cfg.scale, column: column)
            }
            let adapter = pelt.adapter.map { cfg in
                AdapterLayer(down: linear(ParameterName.adapter(l) + ".adapter_down.0", cfg.bottleneck, H),
                             up: linear(ParameterName.adapter(l) + ".adapter_up", H, cfg.bottleneck),
                             gate: gate(ParameterName.adapter(l) + ".gate", cfg.gated))
            }
            return EncoderLayer(index: l, qkv: fused, loraQuery: lora(q, column: 0), loraValue: lora(v, column: 2 * H),
                                prefixGate: gate(ParameterName.prefixGate(l), pelt.prefix?.gated == true),
                                attention: SelfAttention(heads: c.numHeads, headSize: c.headSize,
                                                         dropout: c.attentionDropout),
                                attentionOutput: linear(ParameterName.attentionOutput(l), H, H),
                                attentionNorm: layerNorm(ParameterName.attentionLayerNorm(l)),
                                intermediate: linear(ParameterName.intermediate(l), c.intermediateSize, H),
                                output: linear(ParameterName.output(l), H, c.intermediateSize),
                                outputNorm: layerNorm(ParameterName.outputLayerNorm(l)),
                                adapter: adapter, hiddenDropout: c.hiddenDropout)
        }
        prefix = pelt.prefix.map { cfg in
            PrefixEncoder(embedding: weight(ParameterName.prefixEmbedding),
                          mlpIn: linear(ParameterName.prefixMLPIn, cfg.mlpWidth, H),
                          mlpOut: linear(ParameterName.prefixMLPOut, 2 * c.numLayers * H, cfg.mlpWidth),
                          length: cfg.length, hidden: H, gated: cfg.gated)
        }
        head = SequenceHead(pooler: linear(ParameterName.pooler, H, H),
                            classifier: linear(ParameterName.classifier, numLabels, H), dropout: c.hiddenDropout)

        // Activations for the largest step. Inference shares each layer's buffers across layers (by role) and
        // plans no backward buffers.
        let pool = self.pool
        let N = min(maxBatch * maxSeqLen, maxTokens ?? .max), I = c.intermediateSize, L = pelt.prefix?.length ?? 0
        self.maxTokens = N
        let probsCount = c.numHeads * N * (L + maxSeqLen)
        let training = purpose == .training
        var shared: [String: UnsafeMutablePointer<Float>] = [:]
        func layerBuffer(_ role: String, _ count: Int) -> UnsafeMutablePointer<Float> {
            guard !training else { return pool.make(count) }
            if let buffer = shared[role] { return buffer }
            let buffer = pool.make(count)
            shared[role] = buffer
            return buffer
        }
        func layerStats(_ role: String) -> RowStats {
            RowStats(mean: layerBuffer(role + ".mean", N), rstd: layerBuffer(role + ".rstd", N))
        }
        func backwardBuffer(_ count: Int) -> UnsafeMutablePointer<Float> { pool.make(training ? count : 0) }
        func gateAct(_ role: String, _ on: Bool) -> GateLayer.Activations {
            GateLayer.Activations(sigmoid: on ? layerBuffer(role + ".sigmoid", N) : pool.make(0),
                                  values: pool.make(maxBatch))
        }
        func loraAct(_ role: String, _ cfg: LoRAConfig) -> LoRALayer.Activations {
            LoRALayer.Activations(gate: gateAct(role + ".gate", cfg.gated), projected: layerBuffer(role + ".projected", N * cfg.rank),
                                  scaled: layerBuffer(role + ".scaled", N * cfg.rank))
        }
        embeddingAct = Embeddings.Activations(sum: pool.make(N * H), stats: RowStats(pool, rows: N),
                                              out: pool.make(N * H), dropMask: backwardBuffer(N * H))
        layerActs = (0..<c.numLayers).map { l in
            EncoderLayer.Activations(
                qkv: layerBuffer("qkv", N * 3 * H), loraQuery: pelt.lora.map { loraAct("loraQuery", $0) },
                loraValue: pelt.lora.map { loraAct("loraValue", $0) },
                prefixGate: pelt.prefix.map { gateAct("prefixGate", $0.gated) },
                attention: SelfAttention.Activations(probs: layerBuffer("probs", probsCount), mask: backwardBuffer(probsCount),
                                                     dropped: backwardBuffer(probsCount)),
                context: layerBuffer("context", N * H), attentionDropMask: backwardBuffer(N * H),
                attentionSum: layerBuffer("attentionSum", N * H), attentionStats: layerStats("attentionStats"),
                attended: layerBuffer("attended", N * H), intermediatePre: layerBuffer("intermediatePre", N * I),
                intermediateAct: layerBuffer("intermediateAct", N * I), ffnOut: layerBuffer("ffnOut", N * H),
                outputDropMask: backwardBuffer(N * H), residualSum: layerBuffer("residualSum", N * H),
                residualStats: layerStats("residualStats"),
                adapter: pelt.adapter.map { cfg in
                    AdapterLayer.Activations(gate: gateAct("adapterGate", cfg.gated),
                                             normalized: layerBuffer("adapter.normalized", N * H),
                                             bottleneck: layerBuffer("adapter.bottleneck", N * cfg.bottleneck),
                                             adapted: layerBuffer("adapter.adapted", N * H),
                                             outputSum: layerBuffer("adapter.outputSum", N * H),
                                             outputStats: layerStats("adapter.outputStats"))
                },
                // A layer reads the previous layer's output while writing its own: two buffers alternate.
                out: layerBuffer("out\(l % 2)", N * H))
        }
        prefixAct = pelt.prefix.map { cfg in
            PrefixEncoder.Activations(middle: pool.make(L * cfg.mlpWidth), keyValues: pool.make(L * 2 * c.numLayers * H),
                                      dkeyValues: backwardBuffer(L * 2 * c.numLayers * H),
                                      dmiddle: backwardBuffer(L * cfg.mlpWidth), dmiddlePre: backwardBuffer(L * cfg.mlpWidth))
        }
        headAct = SequenceHead.Activations(cls: pool.make(maxBatch * H), pooled: pool.make(maxBatch * H),
                                           dropMask: backwardBuffer(maxBatch * H), dropped: backwardBuffer(maxBatch * H),
                                           logits: pool.make(maxBatch * numLabels), dlogits: pool.make(maxBatch * numLabels))
        let m = pelt.adapter?.bottleneck ?? 0, r = pelt.lora?.rank ?? 0
        scratch = EncoderLayer.Scratch(
            hidden: pool.make(N * H), dresidual: backwardBuffer(N * H), dattended: backwardBuffer(N * H),
            dintermediateAct: backwardBuffer(N * I), dintermediatePre: backwardBuffer(N * I),
            dattentionSum: backwardBuffer(N * H), dcontext: backwardBuffer(N * H), dqkv: backwardBuffer(N * 3 * H),
            attention: AttentionScratch(dprobs: backwardBuffer(probsCount), dscores: backwardBuffer(probsCount),
                                        dprefixKeys: backwardBuffer(maxBatch * L * H),
                                        dprefixValues: backwardBuffer(maxBatch * L * H)),
            gate: GateScratch(dsigmoid: backwardBuffer(N), dlogit: backwardBuffer(N), dvalues: backwardBuffer(maxBatch)),
            lora: LoRAScratch(dscaled: backwardBuffer(N * r), dprojected: backwardBuffer(N * r)),
            adapter: AdapterScratch(dadapted: backwardBuffer(N * H), dbottleneck: backwardBuffer(N * m),
                                    dpreactivation: backwardBuffer(N * m), dnormalized: backwardBuffer(N * H)))
        headScratch = SequenceHead.Scratch(ddropped: backwardBuffer(maxBatch * H), dpooled: backwardBuffer(maxBatch * H),
                                           dcls: backwardBuffer(maxBatch * H))
        firstTokens = training ? nil : EncoderLayer.FirstTokens(context: pool.make(maxBatch * H),
                                                                input: pool.make(maxBatch * H))
        gradA = backwardBuffer(N * H)
        gradB = backwardBuffer(N * H)
        tokenMask = pool.make(N)
        additiveMask = pool.make(maxBatch * (L + maxSeqLen))
        valueLabels = pool.make(maxBatch)
        ids = .allocate(capacity: N)
        types = .allocate(capacity: N)
        positions = .allocate(capacity: N)
        classLabels = .allocate(capacity: maxBatch)
    }

    deinit {
        ids.deallocate()
        types.deallocate()
        positions.deallocate()
        classLabels.deallocate()
    }

    /// Bytes of activation and scratch buffers planned at creation.
    public var activationBytes: Int { pool.floatCount * MemoryLayout<Float>.stride }

    /// Runs the model on a batch and returns the mean loss. `training` turns dropout on. Allocates nothing.
    @discardableResult
    public func forward(_ batch: Batch, training: Bool) throws -> Float {
        let B = batch.size, T = batch.seqLen, c = config
        precondition(purpose == .training || !training, "an inference model has no dropout buffers")
        guard B <= maxBatch, T <= maxSeqLen, B * T <= maxTokens else {
            throw ModelError.batchTooLarge(batch: B, seqLen: T, maxBatch: maxBatch, maxSeqLen: maxSeqLen)
        }
        let L = prefix?.length ?? 0
        for i in 0..<(B * T) {
            let id = batch.inputIds[i], type = batch.tokenTypeIds[i], mask = batch.attentionMask[i]
            guard id >= 0 && Int(id) < c.vocabSize, type >= 0 && Int(type) < c.typeVocabSize, mask == 0 || mask == 1 else {
                throw ModelError.invalidBatch(reason: "token \(i): id \(id), type \(type) or mask \(mask) out of range")
            }
            ids[i] = id
            types[i] = type
            positions[i] = Int32(i % T)
            tokenMask[i] = Float(mask)
        }
        for b in 0..<B {
            let row = additiveMask + b * (L + T)
            Buffer.zero(row, L)
            for t in 0..<T { row[L + t] = (1 - tokenMask[b * T + t]) * -10000 }
        }
        let labels: LabelBuffer
        switch batch.labels {
        case .classes(let classes):
            guard numLabels > 1 else { throw ModelError.invalidBatch(reason: "class labels for a regression head") }
            for b in 0..<B {
                guard classes[b] >= 0 && Int(classes[b]) < numLabels else {
                    throw ModelError.invalidBatch(reason: "label \(classes[b]) of sample \(b) outside \(numLabels) classes")
                }
                classLabels[b] = classes[b]
            }
            labels = .classes(classLabels)
        case .values(let values):
            guard numLabels == 1 else { throw ModelError.invalidBatch(reason: "regression targets for a \(numLabels)-label head") }
            for b in 0..<B { valueLabels[b] = values[b] }
            labels = .values(valueLabels)
        }
        let shape = StepShape(batch: B, seqLen: T, tokenMask: tokenMask, additiveMask: additiveMask, prefixLength: L,
                              training: training, workers: workers)
        current = shape
        let fillMask: MaskFiller = { site, mask, count in
            if let source = self.dropoutMaskOverride {
                source(site, UnsafeMutableBufferPointer(start: mask, count: count))
            } else {
                let p: Float
                if case .attentionProbs = site { p = self.config.attentionDropout } else { p = self.config.hiddenDropout }
                // One key per site from the RNG; the mask's blocks are then drawn in parallel from it.
                let key = self.dropoutRNG.next()
                self.workers.blocks(count, minimum: 1 << 14) { r in
                    Dropout.makeMask(mask + r.lowerBound, count: r.count, probability: p, key: key, first: r.lowerBound)
                }
            }
        }
        let inputs = Embeddings.Inputs(ids: ids, types: types, positions: positions)
        embeddings.forward(inputs, embeddingAct, shape: shape, fillMask: fillMask)
        if let prefix, let prefixAct { prefix.forward(prefixAct, workers: workers) }
        var input = UnsafePointer(embeddingAct.out)
        for (layer, act) in zip(layers, layerActs) {
            if let firstTokens, layer.index == layers.count - 1, layer.firstTokensAreSelfContained {
                // The head reads [CLS] only: the last layer computes just that row of each sample.
                layer.forwardFirstTokens(input, act, prefix: prefix, prefixAct: prefixAct, scratch: scratch,
                                         first: firstTokens, shape: shape, fillMask: fillMask)
            } else {
                layer.forward(input, act, prefix: prefix, prefixAct: prefixAct, scratch: scratch, shape: shape,
                              fillMask: fillMask)
            }
            input = UnsafePointer(act.out)
        }
        return head.forward(input, labels: labels, headAct, shape: shape, fillMask: fillMask)
    }

    /// Backpropagates the last forward's loss, accumulating into the registry's gradients (zero them first
    /// with `parameters.zeroGradients()`). Gradients nothing needs are skipped: no dW for frozen weights, no
    /// gradient below the first layer unless the embeddings train.
    public func backward() {
        precondition(purpose == .training, "an inference model keeps no activations for backward")
        guard let shape = current else { preconditionFailure("backward() called before forward()") }
        var dout = gradA, dinput = gradB
        head.backward(headAct, dencoded: dout, scratch: headScratch, shape: shape)
        if let prefixAct { Buffer.zero(prefixAct.dkeyValues, (prefix?.length ?? 0) * (prefix?.rowStride ?? 0)) }
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            let plan = backwardPlan(layer: l)
            let input = l > 0 ? UnsafePointer(layerActs[l - 1].out) : UnsafePointer(embeddingAct.out)
            layers[l].backward(dout: dout, input, layerActs[l], prefix: prefix, prefixAct: prefixAct,
                               dinput: plan.needsInput ? dinput : nil, needsLower: plan.needsLower,
                               scratch: scratch, shape: shape)
            swap(&dout, &dinput)
        }
        if embeddings.trains {
            embeddings.backward(dout: dout, Embeddings.Inputs(ids: ids, types: types, positions: positions),
                                embeddingAct, dsum: dinput, shape: shape)
        }
        if let prefix, let prefixAct { prefix.backward(prefixAct, workers: workers) }
    }

    /// What layer l's backward must compute: the gradient of its input (every layer but the first, and the
    /// first when the embeddings train), and anything below the adapter (attention, FFN), which adapter-only
    /// training skips in the first layer.
    func backwardPlan(layer l: Int) -> (needsInput: Bool, needsLower: Bool) {
        let needsInput = l > 0 || embeddings.trains
        let belowAdapterTrains = pelt.lora != nil || pelt.prefix != nil || pelt.finetune || pelt.bitfit
        return (needsInput, needsInput || belowAdapterTrains)
    }

    /// The last forward's logits, (batch, numLabels) row-major.
    public var logits: [Float] {
        guard let shape = current else { return [] }
        return Array(UnsafeBufferPointer(start: headAct.logits, count: shape.batch * numLabels))
    }

    /// The last forward's pooled [CLS] vectors, (batch, hidden).
    public var pooled: [Float] {
        guard let shape = current else { return [] }
        return Array(UnsafeBufferPointer(start: headAct.pooled, count: shape.batch * config.hiddenSize))
    }

    /// The last forward's gate values for every gated site of every layer (empty for ungated methods).
    public var gateValues: [GateValues] {
        guard let shape = current else { return [] }
        var out: [GateValues] = []
        for (layer, act) in zip(layers, layerActs) {
            let sites: [(GateSite, Bool, UnsafeMutablePointer<Float>?)] = [
                (.adapter, layer.adapter?.gate != nil, act.adapter?.gate.values),
                (.prefix, layer.prefixGate != nil, act.prefixGate?.values),
                (.loraQuery, layer.loraQuery?.gate != nil, act.loraQuery?.gate.values),
                (.loraValue, layer.loraValue?.gate != nil, act.loraValue?.gate.values),
            ]
            for (site, gated, values) in sites where gated {
                out.append(GateValues(layer: layer.index, site: site,
                                      perSample: Array(UnsafeBufferPointer(start: values!, count: shape.batch))))
            }
        }
        return out
    }

    /// The prefix folded for inference: the MLP's output, (L, 2·layers·H) with layer ℓ's keys at column
    /// block 2ℓ and values at 2ℓ + 1 (the layout in Prefix.swift). Nil without a prefix.
    public func foldedPrefix() -> [Float]? {
        guard let prefix, let prefixAct else { return nil }
        prefix.forward(prefixAct, workers: workers)
        return Array(UnsafeBufferPointer(start: prefixAct.keyValues, count: prefix.length * prefix.rowStride))
    }
}
