import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Speaks systemd's notify protocol (sd_notify(3)) without libsystemd: one datagram per message to the
/// AF_UNIX socket named by `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace). With no
/// socket configured every call is a no-op, so the service runs the same outside systemd.
public final class SystemdNotifier: @unchecked Sendable {
    private let address: sockaddr_un?
    private let addressLength: socklen_t
    private let fd: Int32
    /// How often to ping: a third of the watchdog interval systemd asked for (sd_watchdog_enabled(3)
    /// suggests half; a third leaves room for a late timer), or nil when no watchdog is configured.
    public let watchdogInterval: TimeInterval?

    public init(environment: [String: String]) {
        watchdogInterval = environment["WATCHDOG_USEC"].flatMap(Double.init).map { $0 / 3_000_000 }
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty,
              path.hasPrefix("/") || path.hasPrefix("@"),
              path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            address = nil; addressLength = 0; fd = -1
            return
        }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes[0] == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace: leading NUL
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        address = addr
        // Abstract names are not NUL-terminated: the length must cover exactly the name.
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    public var isEnabled: Bool { address != nil && fd >= 0 }

    /// Ready: the database is open and the port is listening.
    public func ready(status: String) { send("READY=1\nSTATUS=\(status)") }
    public func stopping() { send("STOPPING=1") }
    public func watchdog() { send("WATCHDOG=1") }
    /// Asks systemd for more time during a long stop (checkpointing running jobs).
    public func extendTimeout(seconds: TimeInterval) {
        send("EXTEND_TIMEOUT_USEC=\(UInt64(seconds * 1_000_000))")
    }

    /// Sends one message without ever blocking: if the receiver's queue is full the message is dropped
    /// (a missed notification is better than a service stuck inside its shutdown). Failures are
    /// ignored as sd_notify(3) does: notification is best effort.
    public func send(_ message: String) {
        guard var address, fd >= 0 else { return }
        let bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                bytes.withUnsafeBytes { body in
                    sendto(fd, body.baseAddress, body.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), sockaddrPointer, addressLength)
                }
            }
        }
    }
}
