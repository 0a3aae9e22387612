import Foundation
import Model
import Tensor
import Text

/// A finished job's checkpoint opened for use (prediction, export): its spec, task and metric from the metadata,
/// and its tensors. The one place predict and export load a trained model from, so both see the same weights.
///
///     let checkpoint = try JobCheckpoint.read(path: "var/runs/rte-k16-s1-lora/best.safetensors")
///     let model = try checkpoint.model(backbone: backbone, maxBatch: 16)   // the owned tensors loaded
public struct JobCheckpoint: @unchecked Sendable {
    public let path: String
    public let spec: TrainingSpec
    public let task: GLUETask
    public let method: Method
    /// The primary metric's name and its dev value when the checkpoint was written (nil before any evaluation).
    public let metric: String
    public let metricValue: Double?
    let file: SafetensorsFile

    public static func read(path: String) throws -> JobCheckpoint {
        guard FileManager.default.fileExists(atPath: path) else { throw TrainingError.missingData(path: path) }
        func invalid(_ reason: String) -> TrainingError { .invalidCheckpoint(path: path, reason: reason) }
        let file: SafetensorsFile
        do {
            file = try Safetensors.read(path: path)
        } catch {
            throw invalid("\(error)")
        }
        guard file.metadata["format"] == Trainer.checkpointFormat else {
            throw invalid("format is \(file.metadata["format"] ?? "missing"), expected \(Trainer.checkpointFormat)")
        }
        let spec: TrainingSpec
        do {
            spec = try JSONDecoder().decode(TrainingSpec.self, from: Data((file.metadata["spec"] ?? "").utf8))
        } catch {
            throw invalid("unreadable spec metadata: \(error)")
        }
        guard let method = Method(rawValue: spec.method) else { throw invalid("unknown method \(spec.method)") }
        return JobCheckpoint(path: path, spec: spec, task: try spec.glueTask(), method: method,
                             metric: file.metadata["metric"] ?? spec.task, metricValue: file.metadata["metric_value"].flatMap(Double.init),
                             file: file)
    }

    /// The model configuration the job trained (sizes from its hyperparameters).
    public func peltConfig(hiddenSize: Int) throws -> PELTConfig { try spec.peltConfig(hiddenSize: hiddenSize) }

    /// A checkpointed tensor by its registry name.
    public func tensor(_ name: String) throws -> Tensor {
        guard let tensor = file.tensors[name] else {
            throw TrainingError.invalidCheckpoint(path: path, reason: "no tensor \(name)")
        }
        return tensor
    }

    /// A model of the job's method on `backbone` with every owned tensor taken from the checkpoint, planned for
    /// batches of up to `maxBatch` × the job's max_seq_length.
    public func model(backbone: Backbone, maxBatch: Int) throws -> BertModel {
        let model: BertModel
        do {
            model = try BertModel(backbone: backbone, pelt: try peltConfig(hiddenSize: backbone.config.hiddenSize),
                                  numLabels: task.numberOfLabels, maxBatch: maxBatch,
                                  maxSeqLen: spec.hyperparameters.maxSeqLength, seed: UInt64(spec.seed))
        } catch let error as ModelError {
            throw TrainingError.model(code: error.code, message: error.description, step: nil)
        }
        for p in model.parameters.parameters {
            let saved = try tensor(p.name)
            guard saved.shape.dims == p.shape else {
                throw TrainingError.invalidCheckpoint(
                    path: path, reason: "\(p.name) has shape \(saved.shape.dims), the model \(backbone.source) needs \(p.shape)")
            }
            Buffer.copy(saved.data, p.value.baseAddress!, p.value.count)
        }
        return model
    }
}
