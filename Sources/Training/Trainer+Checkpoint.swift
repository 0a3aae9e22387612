import Foundation
import Checksum
import Model
import Tensor

/// Checkpoint layout (safetensors, written atomically by Tensor's writer):
/// - every tensor the model owns under its registry name (HF / adapter-transformers names), trainable or not;
/// - `prefix.folded_key_values` (L, 2·layers·H): the prefix MLP's output, all inference needs;
/// - `optimizer.exp_avg.<name>` and `optimizer.exp_avg_sq.<name>` for every trainable tensor (AdamW m and v);
/// - in `last` only, `best.<name>` for every owned tensor when the best state is older than the current one;
/// - metadata: `format`, `spec` and `state` (JSON), `task`, `method`, `model`, `metric`, `metric_value`,
///   `code_version`.
extension Trainer {
    public static let checkpointFormat = "unipelt-training-checkpoint/1"
    public static let codeVersion = "unipelt-training 0.1"
    static let foldedPrefixName = "prefix.folded_key_values"

    public func checkpointPath(_ name: String) -> String? {
        checkpointDirectory.map { ($0 as NSString).appendingPathComponent("\(name).safetensors") }
    }

    /// Writes `name` (`best` or `last`) and emits its `checkpoint` event; does nothing without a directory.
    func writeCheckpoint(named name: String, metric: Double?, reason: CheckpointReason = .evaluation) throws {
        guard let directory = checkpointDirectory, let path = checkpointPath(name) else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw TrainingError.writeFailure(path: directory, cause: error)
        }
        state.dropoutRNG = model.dropoutRNG.state
        let parameters = model.parameters
        var tensors: [String: TensorView] = [:]
        for p in parameters.parameters {
            tensors[p.name] = TensorView(p.value.baseAddress!, Shape(p.shape))
            if p.trainable {
                let offset = p.value.baseAddress! - parameters.values
                tensors["optimizer.exp_avg.\(p.name)"] = TensorView(optimizer.firstMoment + offset, Shape(p.shape))
                tensors["optimizer.exp_avg_sq.\(p.name)"] = TensorView(optimizer.secondMoment + offset, Shape(p.shape))
            }
        }
        var folded: Tensor?
        if let prefix = model.foldedPrefix(), let config = model.pelt.prefix {
            folded = Tensor(shape: Shape(config.length, prefix.count / config.length), values: prefix)
            tensors[Trainer.foldedPrefixName] = folded!.view
        }
        let metadata = try checkpointMetadata(metric: metric)
        let includeBest = name == "last" && state.bestStateStep != nil && state.bestStateStep != state.step
        if includeBest {
            for p in parameters.parameters {
                let offset = p.value.baseAddress! - parameters.values
                tensors["best.\(p.name)"] = TensorView(bestValues + offset, Shape(p.shape))
            }
        }
        do {
            try withExtendedLifetime(folded) { try Safetensors.write(tensors, metadata: metadata, to: path) }
        } catch {
            throw TrainingError.writeFailure(path: path, cause: error)
        }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let sha256: String
        do {
            sha256 = try SHA256.hex(fileAt: path)
        } catch ChecksumError.unreadableFile {
            throw TrainingError.missingData(path: path)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        emit(.checkpoint(CheckpointRecord(name: name, path: path, bytes: bytes, sha256: sha256, step: state.step,
                                          metric: metric, reason: reason, seconds: seconds)))
        if name == "last" { lastCheckpointTime = clock() }
    }

    private func checkpointMetadata(metric: Double?) throws -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf",
                                                                      negativeInfinity: "-inf", nan: "nan")
        return [
            "format": Trainer.checkpointFormat,
            "code_version": Trainer.codeVersion,
            "spec": String(decoding: try encoder.encode(spec), as: UTF8.self),
            "state": String(decoding: try encoder.encode(state), as: UTF8.self),
            "task": spec.task, "method": spec.method, "model": spec.model,
            "metric": task.primaryMetric.rawValue,
            "metric_value": metric.map { String($0) } ?? "",
        ]
    }

    /// Loads a `last` checkpoint of this very spec: every owned tensor, AdamW's moments and step, the best state
    /// and the training state. Anything missing or different is an `invalid_checkpoint` naming what.
    func restore(from path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw TrainingError.missingData(path: path) }
        let file: SafetensorsFile
        do {
            file = try Safetensors.read(path: path)
        } catch {
            throw TrainingError.invalidCheckpoint(path: path, reason: "\(error)")
        }
        func invalid(_ reason: String) -> TrainingError { .invalidCheckpoint(path: path, reason: reason) }
        guard file.metadata["format"] == Trainer.checkpointFormat else {
            throw invalid("format is \(file.metadata["format"] ?? "missing"), expected \(Trainer.checkpointFormat)")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf",
                                                                        negativeInfinity: "-inf", nan: "nan")
        let savedSpec: TrainingSpec, savedState: TrainingState
        do {
            savedSpec = try decoder.decode(TrainingSpec.self, from: Data((file.metadata["spec"] ?? "").utf8))
            savedState = try decoder.decode(TrainingState.self, from: Data((file.metadata["state"] ?? "").utf8))
        } catch {
            throw invalid("unreadable spec or state metadata: \(error)")
        }
        // The checkpoint interval changes nothing that is trained, so a resumed run may use another one.
        var comparable = savedSpec
        comparable.hyperparameters.checkpointEverySeconds = spec.hyperparameters.checkpointEverySeconds
        guard comparable == spec else { throw invalid("it was written for another job spec: \(savedSpec)") }
        // A position past this epoch's end would never reach the end of an epoch (the training loop would spin).
        guard savedState.batchInEpoch < batchesPerEpoch else {
            throw invalid("it resumes after batch \(savedState.batchInEpoch) of an epoch, and an epoch of this run's "
                          + "training data has \(batchesPerEpoch) batches: the data changed since it was written")
        }

        func load(_ name: String, into destination: UnsafeMutablePointer<Float>, count: Int) throws {
            guard let tensor = file.tensors[name] else { throw invalid("no tensor \(name)") }
            guard tensor.count == count else { throw invalid("\(name) has \(tensor.count) values, expected \(count)") }
            Buffer.copy(tensor.data, destination, count)
        }
        let parameters = model.parameters
        let bestIsCurrent = savedState.bestStateStep == nil || savedState.bestStateStep == savedState.step
        for p in parameters.parameters {
            let offset = p.value.baseAddress! - parameters.values
            try load(p.name, into: p.value.baseAddress!, count: p.value.count)
            if p.trainable {
                try load("optimizer.exp_avg.\(p.name)", into: optimizer.firstMoment + offset, count: p.value.count)
                try load("optimizer.exp_avg_sq.\(p.name)", into: optimizer.secondMoment + offset, count: p.value.count)
            }
            if bestIsCurrent {
                Buffer.copy(p.value.baseAddress!, bestValues + offset, p.value.count)
            } else {
                try load("best.\(p.name)", into: bestValues + offset, count: p.value.count)
            }
        }
        optimizer.stepCount = savedState.step
        state = savedState
    }
}
