import Foundation
import Glibc

/// One service per data directory: a `FileLock` on `<data_dir>/unipelt.lock`, held while the process lives.
/// Without it, a second `serve` on the same directory would rescue the first's running jobs and clear its
/// exports before failing on the port.
final class DataDirectoryLock {
    static let fileName = "unipelt.lock"
    private let lock: FileLock

    init(directory: String) throws(App.StartError) {
        let path = directory + "/" + Self.fileName
        do {
            lock = try FileLock(path: path)
        } catch {
            switch error {
            case .held:
                let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                throw .dataDirectoryInUse(path: directory, holder: holder.flatMap(Int32.init))
            case let .cannotOpen(reason):
                throw .cannotLockDataDirectory(path: path, reason: reason)
            }
        }
        lock.record("\(getpid())\n")
    }
}
