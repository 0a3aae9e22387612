import Foundation
import JobStore
import Training

/// Trained models for predict and export in the service: predictors stay loaded in a small LRU cache bounded
/// in count and bytes (each holds only its owned tensors and activation buffers; the backbone is the model
/// library's shared copy).
public final class Inference: @unchecked Sendable {
    public let models: ModelLibrary
    public let limits: Predictor.Limits
    /// Exports are written here, streamed, then removed.
    public let exportDirectory: String
    let predictors: LRUCache<String, Predictor>

    /// At most `cacheCapacity` predictors, and beyond the last one loaded at most `cacheBytes` of their own
    /// memory (a predictor plans activations for a whole batch of its job's max_seq_length).
    public init(models: ModelLibrary, cacheCapacity: Int = 4, cacheBytes: Int = 1 << 30,
                limits: Predictor.Limits = Predictor.Limits(), exportDirectory: String) {
        self.models = models
        self.limits = limits
        self.exportDirectory = exportDirectory
        predictors = LRUCache(capacity: cacheCapacity, budget: cacheBytes, cost: \.memoryBytes)
    }

    /// The predictor of a checkpoint file; a rewritten file (another checksum) is a new entry.
    func predictor(path: String, sha256: String) throws -> Predictor {
        try predictors.value(for: path + "#" + sha256) {
            try TrainedModel.open(checkpointPath: path, models: models).predictor(limits: limits)
        }
    }
}
