import Tensor

/// The folders a trained model can be exported as.
public enum ExportFormat: String, CaseIterable, Sendable {
    /// A PEFT LoRA adapter folder (`PeftModel.from_pretrained` on the base model).
    case peft
    /// An AdapterHub `adapters` adapter with its head (`model.load_adapter` on a `BertAdapterModel`).
    case adapters
    /// A plain Hugging Face `BertForSequenceClassification` with every trained change folded into its weights.
    case merged
}

/// Why a model cannot be exported in a format: the format cannot express what the method computes.
public struct ExportError: Error, Equatable, Sendable, CustomStringConvertible {
    public let format: ExportFormat
    public let method: String
    public let reason: String

    public var description: String { "\(method) cannot be exported as \(format.rawValue): \(reason)" }
}

/// The tensors of one export, by their names in the target format; `head` only for `adapters`, which keeps the
/// prediction head in its own file.
public struct ExportTensors {
    public var weights: [String: Tensor] = [:]
    public var head: [String: Tensor] = [:]
}

/// unipelt's registry names (Hugging Face / adapter-transformers names, see `ParameterName`) in each export
/// format, one table per format. A nil entry means the format has no place for that tensor.
enum ExportNames {
    /// PEFT prefixes the wrapped model's names with `base_model.model.` and drops the adapter name from saved keys;
    /// LoRA's A and B are Linear modules there (`.weight`), and the classifier, a module saved whole
    /// (`modules_to_save`), keeps its own name.
    static func peft(_ name: String) -> String? {
        let prefix = "base_model.model."
        if name.hasSuffix(".lora_A") || name.hasSuffix(".lora_B") { return prefix + name + ".weight" }
        if name.hasPrefix(ParameterName.classifier + ".") { return prefix + name }
        return nil
    }

    /// `adapters` keeps each method under its own module, named by the adapter (`task`):
    /// bottleneck adapters where adapter-transformers had them, LoRA's A and B as bare parameters under `loras`,
    /// the encoder's prefix MLP (`self_prefix`) in the model's `prefix_tuning` pool, and gates beside each method.
    static func adapters(_ name: String) -> String? {
        let adapter = ParameterName.adapterName
        if name.contains(".output.adapters.\(adapter).") { return name }  // bottleneck adapter and its gate
        for (suffix, replacement) in [(".lora_A", ".loras.\(adapter).lora_A"), (".lora_B", ".loras.\(adapter).lora_B"),
                                      (".lora_gate.weight", ".loras.\(adapter).gate.weight"),
                                      (".lora_gate.bias", ".loras.\(adapter).gate.bias")] where name.hasSuffix(suffix) {
            return String(name.dropLast(suffix.count)) + replacement
        }
        let pool = "bert.prefix_tuning.prefix_tunings.\(adapter).self_prefix."
        switch name {
        case ParameterName.prefixEmbedding: return pool + "wte.weight"
        case ParameterName.prefixMLPIn + ".weight": return pool + "control_trans.0.weight"
        case ParameterName.prefixMLPIn + ".bias": return pool + "control_trans.0.bias"
        case ParameterName.prefixMLPOut + ".weight": return pool + "control_trans.2.weight"
        case ParameterName.prefixMLPOut + ".bias": return pool + "control_trans.2.bias"
        default: break
        }
        for suffix in [".weight", ".bias"] where name.hasSuffix(".attention.self.prefix_gate" + suffix) {
            return String(name.dropLast(("prefix_gate" + suffix).count)) + "prefix_tuning.prefix_gates.\(adapter)" + suffix
        }
        return nil
    }

    /// The classification head of an `adapters` model: Dropout, Linear (BERT's pooler), Tanh, Dropout, Linear
    /// (the classifier) — the pooler and classifier of BertForSequenceClassification.
    static func adaptersHead(_ name: String) -> String? {
        let head = "heads.\(ParameterName.adapterName)."
        switch name {
        case ParameterName.pooler + ".weight": return head + "1.weight"
        case ParameterName.pooler + ".bias": return head + "1.bias"
        case ParameterName.classifier + ".weight": return head + "4.weight"
        case ParameterName.classifier + ".bias": return head + "4.bias"
        default: return nil
        }
    }

    /// A merged model uses BertForSequenceClassification's own names, which the registry already uses.
    static func merged(_ name: String) -> String { name }
}

extension BertModel {
    /// The model's trained tensors in `format`, or why the format cannot express this model exactly.
    public func exportTensors(_ format: ExportFormat, method: String) throws -> ExportTensors {
        func refuse(_ reason: String) -> ExportError { ExportError(format: format, method: method, reason: reason) }
        switch format {
        case .peft:
            guard let lora = pelt.lora, !lora.gated, pelt.adapter == nil, pelt.prefix == nil, !pelt.bitfit, !pelt.finetune
            else { throw refuse("PEFT holds ungated LoRA only; use merged (LoRA, BitFit, full fine-tuning) or adapters") }
            return ExportTensors(weights: try renamed(ExportNames.peft, refuse))
        case .adapters:
            guard !pelt.finetune, !pelt.bitfit else {
                throw refuse("adapters has no method that trains backbone weights or biases in place; use merged")
            }
            var tensors = ExportTensors(weights: try renamed(ExportNames.adapters, refuse))
            for (name, _) in ParameterLayout.backbone(config) + [(ParameterName.classifier + ".weight", []),
                                                                 (ParameterName.classifier + ".bias", [])] {
                if let target = ExportNames.adaptersHead(name) { tensors.head[target] = try tensor(name) }
            }
            return tensors
        case .merged:
            if pelt.adapter != nil || pelt.prefix != nil {
                throw refuse("an adapter or a prefix adds computation a plain BERT layer does not have, so no "
                             + "BertForSequenceClassification computes the same function; use adapters")
            }
            if pelt.lora?.gated == true {
                throw refuse("a gated LoRA update is scaled per input by its gate, which no fixed weight can fold in")
            }
            var weights: [String: Tensor] = [:]
            for (name, _) in ParameterLayout.backbone(config) { weights[ExportNames.merged(name)] = try tensor(name) }
            for name in [ParameterName.classifier + ".weight", ParameterName.classifier + ".bias"] {
                weights[ExportNames.merged(name)] = try tensor(name)
            }
            if let lora = pelt.lora {
                for l in 0..<config.numLayers {
                    for module in [ParameterName.query(l), ParameterName.value(l)] {
                        try foldLoRA(into: weights[ExportNames.merged(module + ".weight")]!, module: module, scale: lora.scale)
                    }
                }
            }
            return ExportTensors(weights: weights)
        }
    }

    /// A copy of a tensor: the model's own when it owns one (trained), else the backbone's.
    private func tensor(_ name: String) throws -> Tensor {
        if let owned = parameters.lookup(name) {
            return Tensor(shape: Shape(owned.shape), values: Array(owned.value))
        }
        guard let shape = ParameterLayout.backbone(config).first(where: { $0.name == name })?.shape else {
            throw ModelError.unknownParameter(name: name)
        }
        return Tensor(shape: Shape(shape), values: try backbone.values(name))
    }

    /// Every owned tensor under `table`'s name; one the table has no place for is a refusal naming it.
    private func renamed(_ table: (String) -> String?, _ refuse: (String) -> ExportError) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for p in parameters.parameters {
            if p.spec.component == .head, table(p.name) == nil { continue }  // the `adapters` head goes to its own file
            guard let target = table(p.name) else { throw refuse("the format has no place for \(p.name)") }
            out[target] = try tensor(p.name)
        }
        return out
    }

    /// W += s · B·A for one projection.
    private func foldLoRA(into weight: Tensor, module: String, scale: Float) throws {
        let a = try tensor(module + ".lora_A"), b = try tensor(module + ".lora_B")
        let out = b.shape[0], rank = b.shape[1], inp = a.shape[1]
        BLAS.gemm(.none, .none, m: out, n: inp, k: rank, alpha: scale, a: b.data, lda: rank, b: a.data, ldb: inp,
                  beta: 1, c: weight.mutableData, ldc: inp)
    }
}
