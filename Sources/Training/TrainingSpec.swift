import Model
import Text

/// What one job trains: the service's job spec with its hyperparameters resolved.
public struct TrainingSpec: Codable, Equatable, Sendable {
    public var task: String
    /// nil trains on the whole train split (`k: "all"`).
    public var k: Int?
    public var seed: Int
    public var method: String
    /// The model's name or folder, recorded in checkpoints and results.
    public var model: String
    public var hyperparameters: Hyperparameters

    public init(task: String, k: Int?, seed: Int, method: String, model: String,
                hyperparameters: Hyperparameters) {
        self.task = task
        self.k = k
        self.seed = seed
        self.method = method
        self.model = model
        self.hyperparameters = hyperparameters
    }

    /// The spec with the method's defaults and `overrides` applied (names and values checked).
    public init(task: String, k: Int?, seed: Int, method: String, model: String,
                overrides: [String: HyperparameterValue] = [:]) throws {
        self.init(task: task, k: k, seed: seed, method: method, model: model,
                  hyperparameters: try Hyperparameters(method: method, overrides: overrides))
    }

    public var trainingSize: TrainingSize { k.map(TrainingSize.k) ?? .all }

    func glueTask() throws -> GLUETask {
        guard let task = GLUETask(rawValue: task) else {
            throw TrainingError.unknownTask(name: task, allowed: GLUETask.allNames)
        }
        return task
    }

    /// The model configuration of this spec's method with its size hyperparameters applied.
    func peltConfig(hiddenSize: Int) throws -> PELTConfig {
        guard let method = Method(rawValue: method) else {
            throw TrainingError.unknownMethod(name: method, allowed: HyperparameterTable.methods)
        }
        let hp = hyperparameters
        var pelt = PELTConfig.method(method, hiddenSize: hiddenSize)
        if let bottleneck = hp.adapterBottleneck { pelt.adapter?.bottleneck = bottleneck }
        pelt.prefix?.length = hp.prefixLength
        pelt.prefix?.mlpWidth = hp.prefixMidDim
        pelt.lora?.rank = hp.loraRank
        pelt.gatePooling = GatePooling(rawValue: hp.gatePooling)!
        pelt.classifier = ClassifierTraining(rawValue: hp.classifier)!
        pelt.prefixInit = hp.prefixInit
        pelt.gateBiasInit = hp.gateBiasInit
        return pelt
    }
}
