import Foundation
import Glibc

/// An exclusive `flock` on a file, held until the lock is dropped or the process ends (the kernel releases it
/// then, `kill -9` included), whoever holds it: another process, or another machine on a shared folder.
final class FileLock {
    enum Failure: Error, CustomStringConvertible {
        /// Someone else holds it.
        case held
        case cannotOpen(reason: String)

        var description: String {
            switch self {
            case .held: return "held by another process"
            case let .cannotOpen(reason): return reason
            }
        }
    }

    private let descriptor: Int32

    /// Takes the lock on `path` (created if missing), or fails at once.
    init(path: String) throws(Failure) {
        while true {
            // Close on exec: the commands this process runs must not inherit the lock.
            let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw .cannotOpen(reason: String(cString: strerror(errno))) }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                let error = errno
                close(descriptor)
                throw error == EWOULDBLOCK ? .held : .cannotOpen(reason: String(cString: strerror(error)))
            }
            // Whoever held it before may have removed the file between our open and our flock: a lock on a file
            // without its name locks out nobody, so take the one the name now stands for.
            var opened = stat(), named = stat()
            if fstat(descriptor, &opened) == 0, stat(path, &named) == 0,
               opened.st_dev == named.st_dev, opened.st_ino == named.st_ino {
                self.descriptor = descriptor
                return
            }
            close(descriptor)
        }
    }

    /// Replaces the file's content (who holds it, for those who find it held).
    func record(_ text: String) {
        let bytes = Array(text.utf8)
        if ftruncate(descriptor, 0) == 0 { _ = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) } }
    }

    deinit { close(descriptor) }
}
