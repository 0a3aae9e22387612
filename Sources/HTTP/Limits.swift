import Foundation

/// Limits and timeouts of the server. Every value has a documented default; tests shrink the timeouts so
/// slowloris, idle and body cases finish in a fraction of a second.
public struct Limits: Sendable {
    /// Longest request line (method, target, version) before `414 URI Too Long`. Default 8 KiB.
    public var maxRequestLineBytes = 8 * 1024
    /// Longest header section (after the request line, up to the blank line) before `431`. Default 16 KiB.
    /// Also bounds the trailer section of a chunked body.
    public var maxHeaderBytes = 16 * 1024
    /// Most header fields before `431`. Default 100.
    public var maxHeaderCount = 100
    /// Largest request body for routes that do not set their own limit; `413` before reading it. Default 1 MiB.
    public var maxBodyBytes = 1024 * 1024
    /// Time from the first byte of a request to the end of its header section. Default 10 s.
    public var headerTimeout: TimeInterval = 10
    /// Time from the end of the header section to the end of the body. Default 30 s.
    public var bodyTimeout: TimeInterval = 30
    /// Slowest average rate of a body streamed to a route's sink (`RouteOptions.bodySink`): past `bodyTimeout`
    /// such a body gets `received / rate` seconds more, so a large upload on a slow link finishes while a
    /// trickle still times out. Default 64 KiB/s.
    public var minStreamedBodyBytesPerSecond = 64 * 1024
    /// Longest time a keep-alive connection may wait for the next request. Default 60 s.
    public var idleTimeout: TimeInterval = 60
    /// Longest time a write may make no progress (a reader that stopped reading). Default 30 s.
    public var writeTimeout: TimeInterval = 30
    /// After an error response the server half-closes and discards client bytes this long before closing,
    /// so the client reads the response instead of a reset. Default 1 s.
    public var lingerTimeout: TimeInterval = 1
    /// Interval of keep-alive comments on event streams; also how soon a vanished client is noticed. Default 15 s.
    public var streamKeepAliveInterval: TimeInterval = 15
    /// Streams running at once (each holds a thread of its own); beyond it requests get `503`. Default 256.
    public var maxConcurrentStreams = 256
    /// Connections held at once; beyond it new connections are closed right after accept. Default 10 000.
    public var maxConnections = 10_000

    public init() {}
}
