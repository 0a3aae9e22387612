import Foundation
import Model
import Text

/// The named models of the model directory, each loaded at most once and shared read-only by every
/// worker: the frozen backbone (weights never copied) and its tokenizer.
public final class ModelLibrary: @unchecked Sendable {
    public struct LoadedModel: @unchecked Sendable {
        public let name: String
        public let directory: String
        public let backbone: Backbone
        public let tokenizer: BertTokenizer
    }

    public enum LoadError: Error, CustomStringConvertible {
        case unknownModel(name: String, available: [String])
        case defaultNotInstalled(defaultName: String, directory: String)
        case unreadable(name: String, directory: String, reason: String)

        public var description: String {
            switch self {
            case let .unknownModel(name, available):
                return "unknown model \"\(name)\"; available: \(available.joined(separator: ", "))"
            case let .defaultNotInstalled(defaultName, directory):
                return "the default model \"\(defaultName)\" is not installed in \(directory) (no config.json there); "
                    + "run deploy/setup.sh or set default_model"
            case let .unreadable(name, directory, reason):
                return "model \(name) at \(directory) cannot be loaded: \(reason)"
            }
        }
    }

    public let directory: String
    public let defaultName: String
    private let lock = NSLock()
    private var loaded: [String: LoadedModel] = [:]
    /// Serialises loading so two workers asking for the same model load it once.
    private let loadLock = NSLock()

    public init(directory: String, defaultName: String) {
        self.directory = directory
        self.defaultName = defaultName
    }

    /// `default` plus every subfolder holding a `config.json`.
    public func names() -> [String] {
        ["default"] + Installation.modelFolders(in: directory)
    }

    public func resolvedName(_ name: String) -> String { name == "default" ? defaultName : name }

    public func load(_ requested: String) throws -> LoadedModel {
        let name = resolvedName(requested)
        if let model = cached(name) { return model }
        loadLock.lock()
        defer { loadLock.unlock() }
        if let model = cached(name) { return model }
        guard names().contains(name) else {
            if requested == "default" { throw LoadError.defaultNotInstalled(defaultName: name, directory: directory) }
            throw LoadError.unknownModel(name: requested, available: names())
        }
        let folder = "\(directory)/\(name)"
        do {
            let model = LoadedModel(name: name, directory: folder, backbone: try Backbone.load(directory: folder),
                                    tokenizer: try BertTokenizer(vocabularyURL: URL(fileURLWithPath: "\(folder)/vocab.txt")))
            lock.lock()
            loaded[name] = model
            lock.unlock()
            return model
        } catch {
            throw LoadError.unreadable(name: name, directory: folder, reason: "\(error)")
        }
    }

    private func cached(_ name: String) -> LoadedModel? {
        lock.lock()
        defer { lock.unlock() }
        return loaded[name]
    }
}
