import Checksum
import Foundation
#if canImport(Glibc)
import Glibc
#endif
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

/// SHA-256 of model files, computed once per version of a file: a pull worker lists a model's files with
/// their checksums and then downloads each with its checksum again, and model files are large and static.
/// A version is the file's path, inode, size and modification time, so a file replaced or rewritten in
/// place is hashed anew.
public final class ModelFileChecksums: @unchecked Sendable {  // `known` is guarded by `lock`
    private struct Version: Hashable {
        let path: String
        let device: UInt64
        let inode: UInt64
        let size: Int64
        let modifiedSeconds: Int
        let modifiedNanoseconds: Int
    }

    private let lock = NSLock()
    private var known: [String: (version: Version, sha256: String)] = [:]
    private var hashed = 0

    /// Files hashed so far (not answered from the cache).
    public var computed: Int {
        lock.lock()
        defer { lock.unlock() }
        return hashed
    }

    public init() {}

    /// The lowercase hex SHA-256 of the file at `path`.
    public func sha256(ofFileAt path: String) throws -> String {
        let version = try Self.version(of: path)
        lock.lock()
        let hit = known[path].flatMap { $0.version == version ? $0.sha256 : nil }
        lock.unlock()
        if let hit { return hit }
        let sha256 = try SHA256.hex(fileAt: path)
        lock.lock()
        known[path] = (version, sha256)
        hashed += 1
        lock.unlock()
        return sha256
    }

    private static func version(of path: String) throws -> Version {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        return Version(path: path, device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                       modifiedSeconds: info.st_mtim.tv_sec, modifiedNanoseconds: info.st_mtim.tv_nsec)
    }
}
