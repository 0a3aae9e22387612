import Foundation
import Model
import Tensor
import Text

/// Writes a trained job as a folder Python users load: PEFT (`PeftModel.from_pretrained`), AdapterHub
/// `adapters` (`BertAdapterModel.load_adapter`) or a merged `BertForSequenceClassification`. Every folder has
/// `unipelt_export.json` naming the base model, the method, the job spec and the metric; tensor names come from
/// the tables in Model's `ExportNames`.
public enum Exporter {
    public static let metadataFile = "unipelt_export.json"
    /// What `adapters` calls the adapter and its head (the registry's adapter name).
    static let adapterName = "task"

    /// Writes the export into `directory` (created if needed) and returns the file names written, sorted.
    /// `baseDirectory` is the base model's folder: its config and tokenizer files go into merged exports.
    @discardableResult
    public static func write(_ checkpoint: JobCheckpoint, model: BertModel, baseName: String, baseDirectory: String,
                             format: ExportFormat, to directory: String) throws -> [String] {
        let tensors = try model.exportTensors(format, method: checkpoint.spec.method)
        let config = try baseConfig(baseDirectory)
        var files: [String: Data] = [:]
        var weights: [String: [String: Tensor]] = [:]
        let labels = labelNames(checkpoint.task)
        switch format {
        case .peft:
            let lora = model.pelt.lora!
            weights["adapter_model.safetensors"] = tensors.weights
            files["adapter_config.json"] = try json([
                "peft_type": "LORA", "task_type": "SEQ_CLS", "base_model_name_or_path": baseDirectory,
                "r": lora.rank, "lora_alpha": alpha(lora), "lora_dropout": 0.0,
                "target_modules": ["query", "value"], "bias": "none", "fan_in_fan_out": false,
                "modules_to_save": ["classifier"], "inference_mode": true, "init_lora_weights": true,
            ])
        case .adapters:
            weights["adapter.safetensors"] = tensors.weights
            weights["model_head.safetensors"] = tensors.head
            let common: [String: Any] = ["hidden_size": model.config.hiddenSize, "model_class": "BertAdapterModel",
                                         "model_name": baseName, "model_type": "bert", "name": adapterName]
            files["adapter_config.json"] = try json(common.merging(["config": adaptersConfig(model.pelt, model.config)]) { $1 })
            files["head_config.json"] = try json(common.merging(["config": [
                "head_type": "classification", "num_labels": labels.count, "layers": 2, "activation_function": "tanh",
                "label2id": Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) }),
                "use_pooler": false, "bias": true,
            ] as [String: Any]]) { $1 })
        case .merged:
            weights["model.safetensors"] = tensors.weights
            var merged = config
            merged["architectures"] = ["BertForSequenceClassification"]
            merged["num_labels"] = labels.count
            merged["id2label"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { (String($0), $1) })
            merged["label2id"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
            if checkpoint.task.isRegression { merged["problem_type"] = "regression" }
            files["config.json"] = try json(merged)
            for name in ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"] {
                if let data = FileManager.default.contents(atPath: baseDirectory + "/" + name) { files[name] = data }
            }
        }
        files[metadataFile] = try json(metadata(checkpoint, baseName: baseName, format: format))

        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for (name, data) in files { try data.write(to: URL(fileURLWithPath: directory + "/" + name), options: .atomic) }
            for (name, tensors) in weights {
                // `format: pt` is what transformers and PEFT require of a safetensors file's metadata.
                try Safetensors.write(tensors, metadata: ["format": "pt", "unipelt_method": checkpoint.spec.method],
                                      to: directory + "/" + name)
            }
        } catch {
            throw TrainingError.writeFailure(path: directory, cause: error)
        }
        return (Array(files.keys) + Array(weights.keys)).sorted()
    }

    /// The class names of a classification task; one `LABEL_0` output for STS-B's score.
    static func labelNames(_ task: GLUETask) -> [String] {
        if case let .categories(_, names) = task.labelKind { return names }
        return ["LABEL_0"]
    }

    private static func baseConfig(_ directory: String) throws -> [String: Any] {
        let path = directory + "/config.json"
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TrainingError.missingData(path: path)
        }
        return object
    }

    private static func metadata(_ checkpoint: JobCheckpoint, baseName: String, format: ExportFormat) throws -> [String: Any] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let spec = try JSONSerialization.jsonObject(with: try encoder.encode(checkpoint.spec))
        return [
            "format": format.rawValue, "base_model": baseName, "method": checkpoint.spec.method,
            "task": checkpoint.task.rawValue, "spec": spec, "metric": checkpoint.metric,
            "metric_value": checkpoint.metricValue.map { $0 as Any } ?? NSNull(),
            "checkpoint": (checkpoint.path as NSString).lastPathComponent, "code_version": Trainer.codeVersion,
            "differences": differences(checkpoint, format: format),
        ]
    }

    /// Where the exported model computes something else than unipelt, and when that matters.
    static func differences(_ checkpoint: JobCheckpoint, format: ExportFormat) -> [String] {
        guard format == .adapters, let pelt = try? checkpoint.peltConfig(hiddenSize: 1) else { return [] }
        var notes: [String] = []
        if pelt.hasGates && checkpoint.spec.hyperparameters.gatePooling == GatePooling.masked.rawValue {
            notes.append("adapters averages each gate's sigmoid over every position, padding included; this job "
                         + "averaged over real tokens only (gate_pooling: masked). Unpadded inputs (one at a time, or "
                         + "of equal length) get the same outputs; padded batches get gate values pulled towards the "
                         + "padding's.")
        }
        if pelt.prefix != nil {
            notes.append("every layer reaches the one prefix pool under an alias (…attention.self.prefix_tuning.pool.…); "
                         + "the file holds the pool once, so load_adapter lists those aliases as missing although "
                         + "they share the loaded tensors.")
        }
        return notes
    }

    /// The `adapters` configuration of a job's submodules (a union when it has several), with unipelt's sizes.
    static func adaptersConfig(_ pelt: PELTConfig, _ config: BertConfig) -> [String: Any] {
        var parts: [[String: Any]] = []
        if let lora = pelt.lora {
            // adapters scales the update by alpha/r after the gate; unipelt's gate replaces the scale.
            parts.append(["architecture": "lora", "selfattn_lora": true, "intermediate_lora": false, "output_lora": false,
                          "attn_matrices": ["q", "v"], "r": lora.rank,
                          "alpha": lora.gated ? lora.rank : alpha(lora),
                          "dropout": 0.0, "composition_mode": "add", "init_weights": "lora", "use_gating": lora.gated])
        }
        if let prefix = pelt.prefix {
            parts.append(["architecture": "prefix_tuning", "encoder_prefix": true, "cross_prefix": true, "flat": false,
                          "prefix_length": prefix.length, "bottleneck_size": prefix.mlpWidth, "non_linearity": "tanh",
                          "dropout": 0.0, "use_gating": prefix.gated,
                          // One sigmoid for keys and values alike, as unipelt's prefix gate.
                          "shared_gating": true])
        }
        if let adapter = pelt.adapter {
            // A bottleneck adapter is the configuration without an `architecture` key.
            parts.append(["mh_adapter": false, "output_adapter": true,
                          "reduction_factor": reductionFactor(hidden: config.hiddenSize, bottleneck: adapter.bottleneck),
                          "non_linearity": "relu", "original_ln_before": true, "original_ln_after": true,
                          "residual_before_ln": true, "adapter_residual_before_ln": false, "ln_before": false,
                          "ln_after": false, "init_weights": "bert", "is_parallel": false,
                          "use_gating": adapter.gated])
        }
        return parts.count == 1 ? parts[0] : ["architecture": "union", "configs": parts]
    }

    /// `adapters` rebuilds the bottleneck as `int(hidden // reduction_factor)`, a floor: a factor of
    /// hidden / bottleneck can come back one short in floating point (384 / 30 gives 29), so a bottleneck that
    /// does not divide the hidden size is written as hidden / (bottleneck + ½), whose floor is exactly it.
    static func reductionFactor(hidden: Int, bottleneck: Int) -> Double {
        hidden % bottleneck == 0 ? Double(hidden / bottleneck) : Double(hidden) / (Double(bottleneck) + 0.5)
    }

    /// α with α/r = the job's LoRA scale; an integer when it is one (`adapters` types it so).
    static func alpha(_ lora: LoRAConfig) -> Any {
        let alpha = Double(lora.scale) * Double(lora.rank)
        return alpha == alpha.rounded() ? Int(alpha) : alpha
    }

    private static func json(_ object: [String: Any]) throws -> Data {
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }
}
