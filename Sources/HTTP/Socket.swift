import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A failed socket call, with the call's name and errno.
public struct SocketError: Error, CustomStringConvertible {
    public let operation: String
    public let errno: Int32

    init(_ operation: String, errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String { "\(operation): \(String(cString: strerror(errno)))" }
}

/// Why a write to a client gave up.
enum WriteFailure: Error {
    /// The peer reset or closed the connection.
    case disconnected
    /// The peer accepted no byte for `Limits.writeTimeout`.
    case timedOut
}

/// Thin wrappers over the POSIX calls the server uses; all sockets are non-blocking.
enum Socket {
    /// Creates a listening socket for a numeric or named host (IPv4 or IPv6) and returns it with its bound port.
    static func listen(host: String, port: Int, backlog: Int32 = 1024) throws(SocketError) -> (descriptor: Int32, port: Int) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else { throw SocketError("getaddrinfo(\(host))", errno: EINVAL) }
        defer { freeaddrinfo(list) }

        let descriptor = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SocketError("socket") }
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(descriptor, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let error = SocketError("bind(\(host):\(port))")
            close(descriptor)
            throw error
        }
        guard Glibc.listen(descriptor, backlog) == 0 else {
            let error = SocketError("listen")
            close(descriptor)
            throw error
        }
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        let family = address.ss_family
        let boundPort: UInt16 = withUnsafePointer(to: address) { pointer in
            if family == sa_family_t(AF_INET6) {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        return (descriptor, Int(boundPort))
    }

    /// Writes all of `bytes`, waiting for the socket to drain when it is full. Gives up when no byte is
    /// accepted for `timeout` seconds; MSG_NOSIGNAL turns a vanished peer into EPIPE instead of SIGPIPE.
    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, timeout: TimeInterval) throws(WriteFailure) {
        var offset = 0
        while offset < bytes.count {
            let written = send(descriptor, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if written > 0 {
                offset += written
                continue
            }
            let code = errno
            if written < 0 && code == EINTR { continue }
            guard written < 0, code == EAGAIN || code == EWOULDBLOCK else { throw .disconnected }
            var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, timeout * 1000)))
            if ready == 0 { throw .timedOut }
            if ready < 0 && errno != EINTR { throw .disconnected }
            if poller.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 { throw .disconnected }
        }
    }

    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], timeout: TimeInterval) throws(WriteFailure) {
        // withUnsafeBytes is untyped `rethrows`; a Result carries the typed error through it.
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(WriteFailure) in try writeAll(descriptor, buffer, timeout: timeout) }
        }
        try result.get()
    }

    /// Whether the peer has gone: an orderly close (a read of 0), a reset or another error. Client bytes
    /// waiting to be read leave it connected.
    static func peerHasGone(_ descriptor: Int32) -> Bool {
        var byte: UInt8 = 0
        let result = recv(descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if result > 0 { return false }
        if result == 0 { return true }
        return !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    }
}
