import Foundation
import Glibc
import XCTest
import TestSupport

/// Debian's headless chromium driven through the DevTools protocol over `--remote-debugging-pipe`: the
/// browser reads commands on its fd 3 and writes replies and events on fd 4, one JSON object per message,
/// each ended by a NUL byte. A pipe needs no port and no WebSocket client.
final class HeadlessChromium {
    private let pid: pid_t
    private let toBrowser: Int32
    private let fromBrowser: Int32
    private let profile: String
    private let lock = NSCondition()
    private var replies: [Int: [String: Any]] = [:]
    private var received: [[String: Any]] = []
    private var nextID = 0
    /// The page's session, once `open` attached to it.
    private var session: String?

    /// Installs chromium with the project's script when it is missing, then starts it.
    init(profile: String) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Scripts/ensure_chromium.sh").path
        let install = try runProgram(script, [])
        guard install.status == 0 else {
            throw NSError(domain: "HeadlessChromium", code: 1,
                          userInfo: [NSLocalizedDescriptionKey: "installing chromium failed: \(install.errors)"])
        }
        self.profile = profile
        var commands: [Int32] = [0, 0]
        var replies: [Int32] = [0, 0]
        guard pipe(&commands) == 0, pipe(&replies) == 0 else { throw POSIXError(.EMFILE) }
        for descriptor in commands + replies { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on the copies, so only fds 3 and 4 reach the browser.
        posix_spawn_file_actions_adddup2(&actions, commands[0], 3)
        posix_spawn_file_actions_adddup2(&actions, replies[1], 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // No sandbox: the tests may run as root, where chromium refuses its sandbox.
        let arguments = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--remote-debugging-pipe", "--user-data-dir=\(profile)", "--window-size=1280,900"]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let spawned = posix_spawnp(&child, "chromium", &actions, nil, argv, environ)
        close(commands[0])
        close(replies[1])
        guard spawned == 0 else {
            close(commands[1])
            close(replies[0])
            throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .ENOENT)
        }
        pid = child
        toBrowser = commands[1]
        fromBrowser = replies[0]
        let reader = Thread { [weak self, fromBrowser] in Self.readMessages(from: fromBrowser) { self?.deliver($0) } }
        reader.start()
    }

    deinit {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(toBrowser)
        try? FileManager.default.removeItem(atPath: profile)
    }

    /// Every event received so far (`method`, `params`).
    var events: [[String: Any]] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    /// Opens a page with console, log and network events on, and loads `url` in it.
    func open(_ url: String) throws {
        let target = try send("Target.createTarget", ["url": "about:blank"])
        let attached = try send("Target.attachToTarget", ["targetId": target["targetId"] ?? "", "flatten": true])
        session = attached["sessionId"] as? String
        for domain in ["Runtime", "Log", "Network", "Page"] { _ = try send("\(domain).enable") }
        _ = try send("Page.navigate", ["url": url])
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its JSON value.
    func evaluate(_ expression: String) throws -> Any? {
        let reply = try send("Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true])
        if let exception = reply["exceptionDetails"] {
            throw NSError(domain: "HeadlessChromium", code: 2, userInfo: [NSLocalizedDescriptionKey: "\(expression): \(exception)"])
        }
        return (reply["result"] as? [String: Any])?["value"]
    }

    /// Evaluates `expression` until `accept` takes its value, for at most `timeout` seconds; the last value.
    @discardableResult
    func poll<Value>(_ expression: String, timeout: TimeInterval = 20, until accept: (Value) -> Bool,
                     file: StaticString = #filePath, line: UInt = #line) throws -> Value? {
        let deadline = Date().addingTimeInterval(timeout)
        var last: Value?
        repeat {
            last = try evaluate(expression) as? Value
            if let last, accept(last) { return last }
            Thread.sleep(forTimeInterval: 0.1)
        } while Date() < deadline
        XCTFail("\(expression) stayed \(String(describing: last)) for \(timeout) s", file: file, line: line)
        return last
    }

    /// Sends a command (to the page's session once one is open) and waits for its reply's `result`.
    func send(_ method: String, _ parameters: [String: Any] = [:]) throws -> [String: Any] {
        lock.lock()
        nextID += 1
        let id = nextID
        var message: [String: Any] = ["id": id, "method": method, "params": parameters]
        if let session { message["sessionId"] = session }
        lock.unlock()
        let bytes = Array(try JSONSerialization.data(withJSONObject: message)) + [0]
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(toBrowser, $0.baseAddress, $0.count) }
            guard written > 0 else { throw POSIXError(.EPIPE) }
            offset += written
        }
        lock.lock()
        defer { lock.unlock() }
        let deadline = Date().addingTimeInterval(20)
        while replies[id] == nil {
            guard lock.wait(until: deadline) else { throw POSIXError(.ETIMEDOUT) }
        }
        let reply = replies.removeValue(forKey: id)!
        if let error = reply["error"] {
            throw NSError(domain: "HeadlessChromium", code: 3, userInfo: [NSLocalizedDescriptionKey: "\(method): \(error)"])
        }
        return reply["result"] as? [String: Any] ?? [:]
    }

    private func deliver(_ message: [String: Any]) {
        lock.lock()
        if let id = message["id"] as? Int { replies[id] = message } else { received.append(message) }
        lock.broadcast()
        lock.unlock()
    }

    /// Reads NUL-ended JSON messages until the browser closes its end.
    private static func readMessages(from descriptor: Int32, _ handle: ([String: Any]) -> Void) {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            guard count > 0 else { break }
            pending += buffer[..<count]
            while let end = pending.firstIndex(of: 0) {
                if let message = try? JSONSerialization.jsonObject(with: Data(pending[..<end])) as? [String: Any] {
                    handle(message)
                }
                pending.removeSubrange(...end)
            }
        }
        close(descriptor)
    }
}
