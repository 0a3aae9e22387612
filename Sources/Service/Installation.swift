import Foundation
import Model
import Text
import Training

/// What is installed on this machine: the GLUE task files and the models of the model folder. Requests
/// are checked against it before anything is stored, and `/v1/models` and `/v1/tasks` describe it.
/// Every question looks at the files anew, so data or a model installed while the service runs counts at once.
public struct Installation: Sendable {
    public let glueDirectory: String
    public let modelDirectory: String
    public let defaultModel: String

    // MARK: Tasks

    /// The path of one split file of `task`.
    public func path(of task: GLUETask, _ split: GLUESplit) -> String {
        "\(glueDirectory)/\(task.directoryName)/\(task.fileName(split))"
    }

    /// The split files of `task` that are not there.
    public func missingFiles(of task: GLUETask) -> [String] {
        GLUESplit.allCases.map { path(of: task, $0) }.filter { !FileManager.default.fileExists(atPath: $0) }
    }

    /// Task name → why it cannot run and how to install it, for every task whose files are missing.
    public func missingTasks() -> [String: String] {
        var missing: [String: String] = [:]
        for task in GLUETask.allCases {
            let files = missingFiles(of: task)
            guard !files.isEmpty else { continue }
            missing[task.rawValue] = "the GLUE data of \(task.rawValue) is not installed (missing \(files.joined(separator: ", "))); "
                + "install it with `unipelt data glue --tasks \(task.rawValue) --dir \(glueDirectory)`"
        }
        return missing
    }

    /// The largest K the installed train file of `task` allows (it must leave the dev rows), or nil when its files
    /// are missing or unreadable: the job then says why.
    public func maximumK(of task: GLUETask) -> Int? {
        guard missingFiles(of: task).isEmpty,
              let rows = try? TrainingDataCache.shared.trainExampleCount(task: task, glueDirectory: glueDirectory)
        else { return nil }
        return KShotSplit.maximumK(trainRows: rows)
    }

    // MARK: Models

    /// Folders of the model directory that hold a `config.json`, sorted.
    public func modelFolders() -> [String] { Self.modelFolders(in: modelDirectory) }

    static func modelFolders(in directory: String) -> [String] {
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return folders.filter { FileManager.default.fileExists(atPath: "\(directory)/\($0)/config.json") }.sorted()
    }

    /// Model name → how to install it, for `default` when the default model's folder is missing (other
    /// names are offered only when their folder exists).
    public func missingModels() -> [String: String] {
        guard !modelFolders().contains(defaultModel) else { return [:] }
        return ["default": "the default model \"\(defaultModel)\" is not installed in \(modelDirectory) (no config.json there); "
                    + "install it with `./deploy/setup.sh`, or name an installed model"]
    }
}

// In an extension, so that the struct keeps its synthesized memberwise init (for tests and the catalog's
// empty fallback).
extension Installation {
    public init(config: Config) {
        self.init(glueDirectory: config.resolvedGLUEDirectory, modelDirectory: config.resolvedModelDirectory,
                  defaultModel: config.defaultModel)
    }
}
