import Foundation
import Glibc

/// One service per data directory: an exclusive `flock` on `<data_dir>/unipelt.lock`, held while the process
/// lives (the kernel drops it when the process ends, `kill -9` included). Without it, a second `serve` on the
/// same directory would rescue the first's running jobs and clear its exports before failing on the port.
final class DataDirectoryLock {
    static let fileName = "unipelt.lock"
    private let descriptor: Int32

    init(directory: String) throws(App.StartError) {
        let path = directory + "/" + Self.fileName
        // Close on exec: the Slurm commands this process runs must not inherit the lock.
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw .cannotCreateDataDirectory(path: directory, reason: String(cString: strerror(errno)))
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let error = errno
            close(descriptor)
            guard error == EWOULDBLOCK else {
                throw .cannotCreateDataDirectory(path: directory, reason: String(cString: strerror(error)))
            }
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            throw .dataDirectoryInUse(path: directory, holder: holder.flatMap(Int32.init))
        }
        // Who holds it, for the message a second start prints.
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(descriptor, 0) == 0 { _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) } }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}
