import Foundation
import Checksum
import Glibc
import XCTest
import TestSupport

/// `unipelt data glue` through the real binary against a loopback server of small fixture archives: a good
/// archive, a corrupt one (sha256 mismatch), a 404, a transfer cut off half-way (then resumed with Range),
/// and a folder of archives as the mirror.
final class DataGlueTests: XCTestCase {
    /// Removed in `tearDown`, after the fixture server stopped.
    private var temporary: TemporaryDirectory?
    private var root: URL { temporary!.url }
    private var server: FixtureServer!
    private var glue: String { root.appendingPathComponent("glue").path }

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: ServiceProcess.binary.path) else {
            throw XCTSkip("unipelt binary not found at \(ServiceProcess.binary.path)")
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unzip") else { throw XCTSkip("unzip is not installed") }
        temporary = try TemporaryDirectory("data-glue")
        server = try FixtureServer()
    }

    override func tearDown() {
        server?.stop()
        temporary?.remove()
    }

    private static let rte = FixtureZip.archive([
        ("RTE/train.tsv", "index\tsentence1\tsentence2\tlabel\n" + (0..<400).map { "\($0)\tA premise \($0).\tA hypothesis.\tentailment\n" }.joined()),
        ("RTE/dev.tsv", "index\tsentence1\tsentence2\tlabel\n0\tA premise.\tA hypothesis.\tnot_entailment\n"),
        ("RTE/test.tsv", "index\tsentence1\tsentence2\n0\tA premise.\tA hypothesis.\n"),
    ])
    private static let sst2 = FixtureZip.archive([
        ("SST-2/train.tsv", "sentence\tlabel\ngood film \t1\n"), ("SST-2/dev.tsv", "sentence\tlabel\nbad film \t0\n"),
    ])

    private func sources(_ lines: [(task: String, path: String, archive: Data)]) throws -> String {
        let file = root.appendingPathComponent("sources-\(UUID().uuidString.prefix(6)).txt").path
        try lines.map { "\($0.task) \($0.path.hasPrefix(root.path) ? $0.path : "http://127.0.0.1:\(server.port)\($0.path)") \(SHA256.hex($0.archive))" }
            .joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    private func dataGlue(_ arguments: [String]) throws -> (status: Int32, errors: String) {
        let run = try runProgram(ServiceProcess.binary.path, ["data", "glue", "--dir", glue] + arguments)
        return (run.status, run.errors)
    }

    /// The task folders and files in the layout (hidden download folder excluded).
    private func layout() -> [String] {
        let items = FileManager.default.enumerator(atPath: glue)?.allObjects as? [String] ?? []
        return items.filter { !$0.hasPrefix(".") }.sorted()
    }

    func testGoodArchivesInstallAndASecondRunDownloadsNothing() throws {
        server.serve("/glue/RTE.zip", Self.rte)
        server.serve("/glue/SST-2.zip", Self.sst2)
        let file = try sources([("rte", "/glue/RTE.zip", Self.rte), ("sst2", "/glue/SST-2.zip", Self.sst2)])
        let first = try dataGlue(["--sources", file])
        XCTAssertEqual(first.status, 0, first.errors)
        XCTAssertTrue(first.errors.contains("rte: 100%"), first.errors)
        XCTAssertEqual(layout(), ["RTE", "RTE/dev.tsv", "RTE/test.tsv", "RTE/train.tsv", "SST-2", "SST-2/dev.tsv", "SST-2/train.tsv"])
        let train = try String(contentsOfFile: glue + "/RTE/train.tsv", encoding: .utf8)
        XCTAssertEqual(train.split(separator: "\n").count, 401)
        let requests = server.requests.count

        let second = try dataGlue(["--sources", file, "--tasks", "rte,sst2"])
        XCTAssertEqual(second.status, 0, second.errors)
        XCTAssertTrue(second.errors.contains("rte: already installed"), second.errors)
        XCTAssertEqual(server.requests.count, requests, "an installed task is not downloaded again")
    }

    /// A task folder without the task's files (an earlier copy by hand) is replaced, but kept beside: it may hold
    /// files of the user's own.
    func testAnIncompleteTaskFolderIsKeptBeside() throws {
        server.serve("/glue/RTE.zip", Self.rte)
        try FileManager.default.createDirectory(atPath: glue + "/RTE", withIntermediateDirectories: true)
        try "mine".write(toFile: glue + "/RTE/notes.txt", atomically: true, encoding: .utf8)
        let run = try dataGlue(["--sources", try sources([("rte", "/glue/RTE.zip", Self.rte)]), "--tasks", "rte"])
        XCTAssertEqual(run.status, 0, run.errors)
        let kept = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: glue).first { $0.hasPrefix("RTE.replaced-") })
        XCTAssertEqual(try String(contentsOfFile: "\(glue)/\(kept)/notes.txt", encoding: .utf8), "mine")
        XCTAssertTrue(run.errors.contains("was moved to \(glue)/\(kept)"), run.errors)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: glue + "/RTE").sorted(), ["dev.tsv", "test.tsv", "train.tsv"])
    }

    func testCorruptMissingAndIncompleteArchivesFailClearlyAndLeaveNothingInTheLayout() throws {
        var corrupt = Self.rte
        corrupt[corrupt.count / 2] ^= 0xff
        server.serve("/corrupt/RTE.zip", corrupt)
        let file = try sources([("rte", "/corrupt/RTE.zip", Self.rte)])
        let mismatch = try dataGlue(["--sources", file, "--tasks", "rte"])
        XCTAssertEqual(mismatch.status, 1)
        XCTAssertTrue(mismatch.errors.contains("sha256 mismatch for http://127.0.0.1:\(server.port)/corrupt/RTE.zip: expected \(SHA256.hex(Self.rte)), got \(SHA256.hex(corrupt))"), mismatch.errors)
        XCTAssertEqual(layout(), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: glue + "/.downloads"), [])

        let missing = try dataGlue(["--sources", try sources([("rte", "/nowhere/RTE.zip", Self.rte)]), "--tasks", "rte"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.errors.contains("answered HTTP 404"), missing.errors)
        XCTAssertEqual(layout(), [])

        let noDev = FixtureZip.archive([("RTE/train.tsv", "index\tsentence1\tsentence2\tlabel\n")])
        server.serve("/nodev/RTE.zip", noDev)
        let incomplete = try dataGlue(["--sources", try sources([("rte", "/nodev/RTE.zip", noDev)]), "--tasks", "rte"])
        XCTAssertEqual(incomplete.status, 1)
        XCTAssertTrue(incomplete.errors.contains("has no RTE/dev.tsv"), incomplete.errors)
        XCTAssertEqual(layout(), [])

        let unknown = try dataGlue(["--sources", file, "--tasks", "mrpc"])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.errors.contains("no source for mrpc"), unknown.errors)
    }

    func testACutOffTransferFailsThenResumesWithRange() throws {
        server.serve("/cut/RTE.zip", Self.rte, cutOffFirstAt: Self.rte.count / 2)
        let file = try sources([("rte", "/cut/RTE.zip", Self.rte)])
        let cut = try dataGlue(["--sources", file])
        XCTAssertEqual(cut.status, 1)
        XCTAssertTrue(cut.errors.contains("run the command again to resume"), cut.errors)
        XCTAssertEqual(layout(), [])

        let resumed = try dataGlue(["--sources", file])
        XCTAssertEqual(resumed.status, 0, resumed.errors)
        XCTAssertTrue(resumed.errors.contains("resuming"), resumed.errors)
        XCTAssertEqual(server.requests.last, "GET /cut/RTE.zip bytes=\(Self.rte.count / 2)-")
        XCTAssertEqual(layout(), ["RTE", "RTE/dev.tsv", "RTE/test.tsv", "RTE/train.tsv"])
    }

    func testAFolderOfArchivesServesAsTheMirror() throws {
        let archive = root.appendingPathComponent("mirror/RTE.zip")
        try FileManager.default.createDirectory(at: archive.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Self.rte.write(to: archive)
        let run = try dataGlue(["--sources", try sources([("rte", archive.path, Self.rte)])])
        XCTAssertEqual(run.status, 0, run.errors)
        XCTAssertEqual(layout(), ["RTE", "RTE/dev.tsv", "RTE/test.tsv", "RTE/train.tsv"])
    }
}

/// A loopback HTTP/1.1 server of fixed files: `Range: bytes=N-` answers 206, unknown paths 404, and a file
/// may be cut off on its first request (full Content-Length announced, half sent, connection closed).
final class FixtureServer: @unchecked Sendable {
    private let listener: Int32
    private(set) var port = 0
    private let lock = NSLock()
    private var files: [String: (data: Data, cutOffAt: Int?)] = [:]
    private var served: [String] = []
    private var stopped = false

    /// "GET /path" plus " bytes=N-" when a range was asked, in arrival order.
    var requests: [String] { lock.lock(); defer { lock.unlock() }; return served }

    init() throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 16) == 0
                    && getsockname(listener, pointer, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRNOTAVAIL) }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    func serve(_ path: String, _ data: Data, cutOffFirstAt: Int? = nil) {
        lock.lock()
        files[path] = (data, cutOffFirstAt)
        lock.unlock()
    }

    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            answer(client)
            close(client)
        }
    }

    private func answer(_ client: Int32) {
        var head = [UInt8]()
        var byte: UInt8 = 0
        while !head.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)), read(client, &byte, 1) == 1 { head.append(byte) }
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
        let path = lines.first?.split(separator: " ").dropFirst().first.map(String.init) ?? ""
        let range = lines.first { $0.lowercased().hasPrefix("range:") }
            .map { $0.dropFirst("range:".count).trimmingCharacters(in: .whitespaces) }
        lock.lock()
        served.append("GET \(path)" + (range.map { " \($0)" } ?? ""))
        let file = files[path]
        if file?.cutOffAt != nil { files[path]?.cutOffAt = nil }
        lock.unlock()
        guard let file else {
            send(client, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", Data())
            return
        }
        let start = range.flatMap { Int($0.dropFirst("bytes=".count).dropLast()) } ?? 0
        let body = file.data.subdata(in: start..<file.data.count)
        let status = range == nil ? "200 OK" : "206 Partial Content"
        let contentRange = range == nil ? "" : "Content-Range: bytes \(start)-\(file.data.count - 1)/\(file.data.count)\r\n"
        let sent = file.cutOffAt.map { body.prefix($0) } ?? body
        send(client, "HTTP/1.1 \(status)\r\nContent-Length: \(body.count)\r\n\(contentRange)Connection: close\r\n\r\n", Data(sent))
    }

    private func send(_ client: Int32, _ head: String, _ body: Data) {
        let bytes = Array(head.utf8) + Array(body)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            guard written > 0 else { return }
            offset += written
        }
    }
}

/// Zip archives of stored (uncompressed) entries, enough for `unzip` to unpack test fixtures.
enum FixtureZip {
    static func archive(_ entries: [(name: String, text: String)]) -> Data {
        var data = Data()
        var central = Data()
        for (name, text) in entries {
            let content = Data(text.utf8)
            let nameBytes = Data(name.utf8)
            // Version 2.0, no flags, stored, a fixed DOS time and date, CRC, sizes, name length, no extra.
            var fields = le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21)
            fields += le32(crc32(content)) + le32(UInt32(content.count)) + le32(UInt32(content.count))
            fields += le16(UInt16(nameBytes.count)) + le16(0)
            var entry = le32(0x0201_4b50) + le16(20)
            entry += fields + le16(0) + le16(0) + le16(0) + le32(0) + le32(UInt32(data.count))
            central += entry + nameBytes
            data += le32(0x0403_4b50) + fields + nameBytes + content
        }
        let centralOffset = UInt32(data.count)
        data += central
        var end = le32(0x0605_4b50) + le16(0) + le16(0)
        end += le16(UInt16(entries.count)) + le16(UInt16(entries.count))
        end += le32(UInt32(central.count)) + le32(centralOffset) + le16(0)
        return data + end
    }

    private static func crc32(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1 }
        }
        return ~crc
    }

    private static func le16(_ value: UInt16) -> Data { withUnsafeBytes(of: value.littleEndian) { Data($0) } }
    private static func le32(_ value: UInt32) -> Data { withUnsafeBytes(of: value.littleEndian) { Data($0) } }
}
