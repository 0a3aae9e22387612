/// Which part of the model a tensor belongs to, for parameter counts (checked against the paper's Table 4 in
/// ParameterCountTests).
public enum ParameterComponent: String, CaseIterable, Sendable {
    /// A copy of a backbone weight (full fine-tuning).
    case backbone
    /// A copy of a backbone bias or LayerNorm β (BitFit).
    case bias
    case adapter
    /// The prefix embedding and reparameterisation MLP (training time).
    case prefix
    case lora
    /// The UniPELT gates, Linear(H→1) each.
    case gate
    /// The classifier (n labels).
    case head
}

/// How an owned tensor starts (as the official UniPELT code initialises it).
enum ParameterInit: Equatable {
    /// A copy of the backbone tensor of the same name.
    case copyOfBackbone
    /// N(0, std).
    case normal(std: Float)
    /// U(−bound, +bound): LoRA A's kaiming_uniform(a=√5) is U(±1/√fan_in).
    case uniform(bound: Float)
    case zeros
}

/// One tensor a model owns (a trainable delta, or a head frozen by the `reference` option).
public struct ParameterSpec: Equatable {
    public let name: String
    public let shape: [Int]
    public let component: ParameterComponent
    public let trainable: Bool
    /// AdamW weight decay applies (not to biases and LayerNorm weights, as in HF's Trainer).
    public let weightDecay: Bool
    let initializer: ParameterInit

    public var count: Int { shape.reduce(1, *) }
}

/// Hugging Face names of the BERT tensors (BertForSequenceClassification layout, `bert.` prefix) and of the
/// PELT tensors (official UniPELT / adapter-transformers names).
enum ParameterName {
    static let wordEmbeddings = "bert.embeddings.word_embeddings.weight"
    static let positionEmbeddings = "bert.embeddings.position_embeddings.weight"
    static let tokenTypeEmbeddings = "bert.embeddings.token_type_embeddings.weight"
    static let embeddingsLayerNorm = "bert.embeddings.LayerNorm"
    static let pooler = "bert.pooler.dense"
    static let classifier = "classifier"
    static let prefixEmbedding = "bert.encoder.prefix_enc_embed.weight"
    static let prefixMLPIn = "bert.encoder.prefix_embed_MLP.0"
    static let prefixMLPOut = "bert.encoder.prefix_embed_MLP.2"
    /// adapter-transformers keeps adapters under a name; a job has exactly one.
    static let adapterName = "task"

    static func layer(_ l: Int) -> String { "bert.encoder.layer.\(l)." }
    static func query(_ l: Int) -> String { layer(l) + "attention.self.query" }
    static func key(_ l: Int) -> String { layer(l) + "attention.self.key" }
    static func value(_ l: Int) -> String { layer(l) + "attention.self.value" }
    static func attentionOutput(_ l: Int) -> String { layer(l) + "attention.output.dense" }
    static func attentionLayerNorm(_ l: Int) -> String { layer(l) + "attention.output.LayerNorm" }
    static func intermediate(_ l: Int) -> String { layer(l) + "intermediate.dense" }
    static func output(_ l: Int) -> String { layer(l) + "output.dense" }
    static func outputLayerNorm(_ l: Int) -> String { layer(l) + "output.LayerNorm" }
    static func prefixGate(_ l: Int) -> String { layer(l) + "attention.self.prefix_gate" }
    static func adapter(_ l: Int) -> String { layer(l) + "output.adapters.\(adapterName)" }
}

enum ParameterLayout {
    /// Every backbone tensor in storage order. Query, key and value of a layer are adjacent (weights, then
    /// biases), so the three projections run as one (3H × H) product without copying anything.
    static func backbone(_ c: BertConfig) -> [(name: String, shape: [Int])] {
        let H = c.hiddenSize, I = c.intermediateSize
        var t: [(String, [Int])] = [
            (ParameterName.wordEmbeddings, [c.vocabSize, H]),
            (ParameterName.positionEmbeddings, [c.maxPositions, H]),
            (ParameterName.tokenTypeEmbeddings, [c.typeVocabSize, H]),
            (ParameterName.embeddingsLayerNorm + ".weight", [H]), (ParameterName.embeddingsLayerNorm + ".bias", [H]),
        ]
        for l in 0..<c.numLayers {
            let qkv = [ParameterName.query(l), ParameterName.key(l), ParameterName.value(l)]
            t += qkv.map { ($0 + ".weight", [H, H]) } + qkv.map { ($0 + ".bias", [H]) }
            t += [(ParameterName.attentionOutput(l) + ".weight", [H, H]), (ParameterName.attentionOutput(l) + ".bias", [H]),
                  (ParameterName.attentionLayerNorm(l) + ".weight", [H]), (ParameterName.attentionLayerNorm(l) + ".bias", [H]),
                  (ParameterName.intermediate(l) + ".weight", [I, H]), (ParameterName.intermediate(l) + ".bias", [I]),
                  (ParameterName.output(l) + ".weight", [H, I]), (ParameterName.output(l) + ".bias", [H]),
                  (ParameterName.outputLayerNorm(l) + ".weight", [H]), (ParameterName.outputLayerNorm(l) + ".bias", [H])]
        }
        t += [(ParameterName.pooler + ".weight", [H, H]), (ParameterName.pooler + ".bias", [H])]
        return t
    }

    /// The tensors a model owns for `pelt`, in storage order, with what trains (the official code's freezing, or
/// unipelt's trained classifier per `ClassifierTraining`).
    static func owned(_ c: BertConfig, _ pelt: PELTConfig, numLabels: Int) -> [ParameterSpec] {
        let H = c.hiddenSize
        let bert: Float = 0.02  // BertPreTrainedModel._init_weights
        var specs: [ParameterSpec] = []
        func add(_ name: String, _ shape: [Int], _ component: ParameterComponent, _ initializer: ParameterInit,
                 trainable: Bool = true) {
            let noDecay = name.hasSuffix(".bias") || name.hasSuffix("LayerNorm.weight")
            specs.append(ParameterSpec(name: name, shape: shape, component: component, trainable: trainable,
                                       weightDecay: !noDecay, initializer: initializer))
        }
        func addLinear(_ name: String, _ out: Int, _ inp: Int, _ component: ParameterComponent,
                       weight: ParameterInit = .normal(std: bert), bias: ParameterInit = .zeros) {
            add(name + ".weight", [out, inp], component, weight)
            add(name + ".bias", [out], component, bias)
        }
        // PyTorch's nn.Linear default: kaiming_uniform(a=√5) weight and its bias are both U(±1/√fan_in).
        func torchLinear(_ name: String, _ out: Int, _ inp: Int, _ component: ParameterComponent) {
            let bound = ParameterInit.uniform(bound: 1 / Float(inp).squareRoot())
            addLinear(name, out, inp, component, weight: bound, bias: bound)
        }
        func addGate(_ name: String) {
            switch pelt.gateBiasInit {
            case .zero: addLinear(name, 1, H, .gate)
            case .torch: addLinear(name, 1, H, .gate, bias: .uniform(bound: 1 / Float(H).squareRoot()))
            }
        }
        if pelt.finetune {
            for (name, shape) in backbone(c) { add(name, shape, .backbone, .copyOfBackbone) }
        } else if pelt.bitfit {
            for (name, shape) in backbone(c) where name.hasSuffix(".bias") { add(name, shape, .bias, .copyOfBackbone) }
        }
        if let prefix = pelt.prefix {
            switch pelt.prefixInit {
            case .bert:
                add(ParameterName.prefixEmbedding, [prefix.length, H], .prefix, .normal(std: bert))
                addLinear(ParameterName.prefixMLPIn, prefix.mlpWidth, H, .prefix)
                addLinear(ParameterName.prefixMLPOut, 2 * c.numLayers * H, prefix.mlpWidth, .prefix)
            case .torch:
                add(ParameterName.prefixEmbedding, [prefix.length, H], .prefix, .normal(std: 1))
                torchLinear(ParameterName.prefixMLPIn, prefix.mlpWidth, H, .prefix)
                torchLinear(ParameterName.prefixMLPOut, 2 * c.numLayers * H, prefix.mlpWidth, .prefix)
            }
        }
        for l in 0..<c.numLayers {
            if let lora = pelt.lora {
                for module in [ParameterName.query(l), ParameterName.value(l)] {
                    add(module + ".lora_A", [lora.rank, H], .lora, .uniform(bound: 1 / Float(H).squareRoot()))
                    add(module + ".lora_B", [H, lora.rank], .lora, .zeros)
                    if lora.gated { addGate(module + ".lora_gate") }
                }
            }
            if let prefix = pelt.prefix, prefix.gated { addGate(ParameterName.prefixGate(l)) }
            if let adapter = pelt.adapter {
                let a = ParameterName.adapter(l)
                addLinear(a + ".adapter_down.0", adapter.bottleneck, H, .adapter)
                addLinear(a + ".adapter_up", H, adapter.bottleneck, .adapter)
                if adapter.gated { addLinear(a + ".gate", 1, H, .gate) }
            }
        }
        let headTrains: (weight: Bool, bias: Bool)
        switch pelt.classifier {
        case .trained: headTrains = (true, true)
        case .reference:
            // freeze_params keeps only names containing "prefix", "lora" or "bias"; adapter mode keeps the head.
            headTrains = pelt.finetune || pelt.adapterMode ? (true, true) : (false, pelt.bitfit)
        }
        add(ParameterName.classifier + ".weight", [numLabels, H], .head, .normal(std: bert), trainable: headTrains.weight)
        add(ParameterName.classifier + ".bias", [numLabels], .head, .zeros, trainable: headTrains.bias)
        return specs
    }
}
