import Foundation
import Checksum
import Text

/// `unipelt data glue`: downloads GLUE task archives, checks their sha256 and unpacks them into the standard
/// layout. Idempotent: an installed task is skipped. A task folder appears only whole (unpacked aside, then
/// renamed into place); a cut-off download stays in `DIR/.downloads/` and resumes on the next run.
enum DataCommand: CLICommand {
    static let name = "data glue"
    static let summary = "download and unpack GLUE tasks into the standard layout"
    static let usage = """
    usage: unipelt data glue [--tasks sst2,rte,…] [--dir DIR] [--sources FILE]
      Downloads and unpacks GLUE tasks into DIR (default var/glue, the service's default glue_dir) in the
      standard layout (SST-2/train.tsv, MNLI/dev_matched.tsv, …). Installed tasks are skipped.
      --tasks     comma-separated task names (default: every task with a source)
      --sources   a file of `task source sha256` lines, one per task: a mirror's URLs or a folder of
                  archives (each archive holds the task folder, e.g. RTE/train.tsv). Default: the official
                  GLUE archives, or the file named by the GLUE_SOURCES environment variable;
                  see `unipelt data glue --list`.
      --list      print the sources in use and exit
      Archives are checked against their sha256; an official archive without a published checksum (QQP)
      has the checksum of its first download recorded in DIR/.downloads/recorded.sha256 and checked later.
      MRPC has no official archive: give it in a --sources file.
    """

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func run(_ arguments: [String]) throws {
        var remaining = arguments[...]
        var directory = "var/glue"
        var tasks: [GLUETask]?
        var archives = GLUEArchives.official
        if let path = ProcessInfo.processInfo.environment["GLUE_SOURCES"], !path.isEmpty {
            archives = try GLUEArchives.load(path, option: "GLUE_SOURCES")
        }
        var list = false
        while let option = remaining.popFirst() {
            if option == "--list" { list = true; continue }
            guard ["--tasks", "--dir", "--sources"].contains(option) else {
                throw CommandLineError(message: "unexpected argument '\(option)'\n\n\(usage)")
            }
            guard let value = remaining.popFirst() else { throw CommandLineError(message: "\(option) needs a value\n\n\(usage)") }
            switch option {
            case "--tasks":
                tasks = try value.split(separator: ",").map { name in
                    guard let task = GLUETask(rawValue: String(name)) else {
                        throw CommandLineError(message: "--tasks: unknown task '\(name)'; expected some of \(GLUETask.allNames.joined(separator: ","))")
                    }
                    return task
                }
            case "--dir":
                directory = value
            default:
                archives = try GLUEArchives.load(value, option: "--sources")
            }
        }
        if list {
            for archive in archives { print("\(archive.task.rawValue) \(archive.source) \(archive.sha256 ?? "-")") }
            return
        }
        let installer = GLUEInstaller(directory: directory, archives: archives)
        var failures: [String] = []
        for task in tasks ?? GLUETask.allCases.filter({ task in archives.contains { $0.task == task } }) {
            do {
                try installer.install(task)
            } catch {
                failures.append("\(task.rawValue): \(error)")
                FileHandle.standardError.write(Data("\(task.rawValue): failed: \(error)\n".utf8))
            }
        }
        guard failures.isEmpty else { throw Failure(description: "\(failures.count) task(s) failed:\n" + failures.joined(separator: "\n")) }
    }
}

/// Installs one task at a time into `directory`.
struct GLUEInstaller {
    let directory: String
    let archives: [GLUEArchive]
    private var downloads: String { directory + "/.downloads" }
    private var recordFile: String { downloads + "/recorded.sha256" }
    private let files = FileManager.default

    init(directory: String, archives: [GLUEArchive]) {
        self.directory = directory
        self.archives = archives
    }

    func install(_ task: GLUETask) throws {
        let target = "\(directory)/\(task.directoryName)"
        let required = GLUESplit.allCases.map { task.fileName($0) }
        if required.allSatisfy({ files.fileExists(atPath: "\(target)/\($0)") }) {
            log("\(task.rawValue): already installed in \(target)")
            return
        }
        guard let archive = archives.first(where: { $0.task == task }) else {
            throw DataCommand.Failure(description: "no source for \(task.rawValue); give one in a --sources file (task source sha256)")
        }
        try files.createDirectory(atPath: downloads, withIntermediateDirectories: true)
        let part = "\(downloads)/\(archive.fileName).part"
        try fetch(archive, to: part)

        let actual = try SHA256.hex(fileAt: part)
        let recorded = recordedChecksums()[archive.source]
        if let expected = archive.sha256 ?? recorded, expected != actual {
            try? files.removeItem(atPath: part)
            throw DataCommand.Failure(description: "sha256 mismatch for \(archive.source): expected \(expected), got \(actual)"
                + (archive.sha256 == nil ? " (recorded from its first download in \(recordFile))" : "")
                + "; the download was deleted. If the archive changed upstream, pass a --sources file with its new sha256")
        }

        // Unpacked aside, checked, then renamed into place: the layout never holds a partial task folder.
        let unpacked = "\(downloads)/\(task.rawValue)-unpacked"
        try? files.removeItem(atPath: unpacked)
        defer { try? files.removeItem(atPath: unpacked) }
        let folder = "\(unpacked)/\(task.directoryName)"
        do {
            try unzip(part, into: unpacked)
            for name in required where !files.fileExists(atPath: "\(folder)/\(name)") {
                throw DataCommand.Failure(description: "the archive \(archive.source) has no \(task.directoryName)/\(name)")
            }
        } catch {
            // An archive no checksum vouches for is not kept: the next run would resume onto it as a cut-off download.
            if archive.sha256 == nil && recorded == nil { try? files.removeItem(atPath: part) }
            throw error
        }
        // Only an archive that unpacked to the task's files is trusted as the one to expect from now on (a proxy's
        // error page must not be).
        if archive.sha256 == nil && recorded == nil {
            try record(actual, for: archive.source)
            log("\(task.rawValue): no published sha256 for \(archive.source); recorded \(actual) in \(recordFile)")
        }
        if files.fileExists(atPath: target) {
            // An incomplete folder from an earlier copy: kept beside, in case it holds files of the user's own.
            let kept = "\(target).replaced-\(Int(Date().timeIntervalSince1970))"
            try files.moveItem(atPath: target, toPath: kept)
            log("\(task.rawValue): the incomplete \(target) was moved to \(kept)")
        }
        try files.moveItem(atPath: folder, toPath: target)
        try? files.removeItem(atPath: part)
        log("\(task.rawValue): installed \(target) (\(required.joined(separator: ", ")))")
    }

    // MARK: Download

    /// Copies a local archive, or downloads a URL, resuming a `.part` left by a cut-off transfer.
    private func fetch(_ archive: GLUEArchive, to part: String) throws {
        let source = archive.source
        guard source.contains("://") && !source.hasPrefix("file://") else {
            let path = source.hasPrefix("file://") ? String(source.dropFirst("file://".count)) : source
            guard files.fileExists(atPath: path) else { throw DataCommand.Failure(description: "no such archive: \(path)") }
            try? files.removeItem(atPath: part)
            try files.copyItem(atPath: path, toPath: part)
            return
        }
        guard let url = URL(string: source) else { throw DataCommand.Failure(description: "not a URL: \(source)") }
        if !files.fileExists(atPath: part) { _ = files.createFile(atPath: part, contents: nil) }
        let offset = ((try? files.attributesOfItem(atPath: part))?[.size] as? NSNumber)?.intValue ?? 0
        if offset > 0 { log("\(archive.task.rawValue): resuming \(source) at byte \(offset)") }
        try HTTPDownload(url: url, path: part, offset: offset, label: archive.task.rawValue).run()
    }

    private func unzip(_ archive: String, into folder: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unzip")
        process.arguments = ["-q", "-o", archive, "-d", folder]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw DataCommand.Failure(description: "cannot run /usr/bin/unzip (deploy/setup.sh installs it): \(error)")
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw DataCommand.Failure(description: "unzip failed on \(archive): \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    // MARK: Checksums recorded on first download

    private func recordedChecksums() -> [String: String] {
        let text = (try? String(contentsOfFile: recordFile, encoding: .utf8)) ?? ""
        var sums: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 1).map(String.init)
            if fields.count == 2 { sums[fields[1]] = fields[0] }
        }
        return sums
    }

    private func record(_ sha256: String, for source: String) throws {
        let line = Data("\(sha256) \(source)\n".utf8)
        if let handle = FileHandle(forWritingAtPath: recordFile) {
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: line)
        } else {
            try line.write(to: URL(fileURLWithPath: recordFile))
        }
    }

    private func log(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
