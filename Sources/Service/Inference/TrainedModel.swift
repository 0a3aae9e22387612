import Foundation
import Model
import Training

/// A job's trained model opened for predict and export: its checkpoint and the base model it was trained on.
/// The one place both load from, for the service and the command line alike.
public struct TrainedModel: Sendable {
    public let checkpoint: JobCheckpoint
    public let base: ModelLibrary.LoadedModel

    /// Reads the checkpoint and loads its base model from `models`: the one the job names, or `model` when given.
    public static func open(checkpointPath: String, models: ModelLibrary, model: String? = nil) throws -> TrainedModel {
        let checkpoint = try JobCheckpoint.read(path: checkpointPath)
        return TrainedModel(checkpoint: checkpoint, base: try models.load(model ?? checkpoint.spec.model))
    }

    /// `unipelt train` records the model folder it was given; a run on the command line finds it there, or in
    /// the model folder by name (`var/models`, or `UNIPELT_MODEL_DIR`), unless `--model` says otherwise. A service
    /// job's checkpoint names its model's folder; one of a job created before jobs recorded it names `default`: the
    /// default model (`minilm-l6`, or `UNIPELT_DEFAULT_MODEL`), and a service configured with another
    /// `default_model` in its file needs `--model`.
    public static func open(checkpointPath: String, modelDirectory: String?) throws -> TrainedModel {
        let checkpoint = try JobCheckpoint.read(path: checkpointPath)
        let config = (try? Config.load(file: nil, environment: ProcessInfo.processInfo.environment)) ?? Config()
        let named = checkpoint.spec.model == "default" ? config.defaultModel : checkpoint.spec.model
        let folder = modelDirectory ?? (FileManager.default.fileExists(atPath: named + "/config.json")
            ? named : config.resolvedModelDirectory + "/" + named)
        let library = ModelLibrary(directory: (folder as NSString).deletingLastPathComponent,
                                   defaultName: (folder as NSString).lastPathComponent)
        return TrainedModel(checkpoint: checkpoint, base: try library.load("default"))
    }

    public func predictor(limits: Predictor.Limits = Predictor.Limits()) throws -> Predictor {
        try Predictor(checkpoint: checkpoint, backbone: base.backbone, tokenizer: base.tokenizer, limits: limits)
    }

    /// Refuses as `export` would when `format` cannot express this model, and writes nothing.
    public func checkExport(_ format: ExportFormat) throws {
        _ = try checkpoint.model(backbone: base.backbone, maxBatch: 1).exportTensors(format, method: checkpoint.spec.method)
    }

    /// Writes the export folder; returns its file names.
    @discardableResult
    public func export(_ format: ExportFormat, to directory: String) throws -> [String] {
        try Exporter.write(checkpoint, model: try checkpoint.model(backbone: base.backbone, maxBatch: 1),
                           baseName: base.name, baseDirectory: base.directory, format: format, to: directory)
    }
}
