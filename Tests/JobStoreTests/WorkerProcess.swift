import Foundation
import XCTest

/// A running `unipelt-store-crash` process whose stdout lines the test can wait for.
final class WorkerProcess {
    /// The worker executable, built next to the test bundle; nil if it is not there.
    static let executable: URL? = {
        let candidates = [Bundle.main.bundleURL, Bundle(for: WorkerProcess.self).bundleURL,
                          URL(fileURLWithPath: CommandLine.arguments[0])]
            .map { $0.deletingLastPathComponent().appendingPathComponent("unipelt-store-crash") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    static func requireExecutable() throws -> URL {
        guard let executable else {
            throw XCTSkip("unipelt-store-crash is not next to the test bundle; run `swift build --build-tests` first")
        }
        return executable
    }

    let process = Process()
    private let condition = NSCondition()
    private var buffer = ""
    private var finishedReading = false

    init(_ arguments: [String]) throws {
        process.executableURL = try Self.requireExecutable()
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let reader = pipe.fileHandleForReading
        Thread { [self] in
            while true {
                let data = reader.availableData
                condition.lock()
                if data.isEmpty { finishedReading = true } else { buffer += String(decoding: data, as: UTF8.self) }
                condition.broadcast()
                condition.unlock()
                if data.isEmpty { return }
            }
        }.start()
    }

    var pid: Int32 { process.processIdentifier }

    /// Complete lines printed so far.
    var lines: [String] {
        condition.lock()
        defer { condition.unlock() }
        return buffer.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// Waits until the `occurrence`-th (0-based) line starting with `prefix` is printed and returns
    /// it; nil if the output ends or `timeout` passes first.
    @discardableResult
    func waitForLine(startingWith prefix: String, occurrence: Int = 0, timeout: TimeInterval = 20) -> String? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            // Only complete lines: the last piece may still be growing.
            let complete = buffer.split(separator: "\n", omittingEmptySubsequences: true)
                .dropLast(buffer.hasSuffix("\n") ? 0 : 1)
            let matches = complete.filter { $0.hasPrefix(prefix) }
            if matches.count > occurrence { return String(matches[occurrence]) }
            if finishedReading || !condition.wait(until: deadline) { return nil }
        }
    }

    func signal(_ signal: Int32) { kill(pid, signal) }

    /// Waits for the process to end and returns its exit status (or the signal that ended it).
    func waitForExit(timeout: TimeInterval = 30) -> Int32? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while process.isRunning {
            if Date() > deadline { return nil }
            usleep(2_000)
        }
        return process.terminationStatus
    }
}
