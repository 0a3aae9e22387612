import Foundation
import Text

/// Where each GLUE task's archive comes from: a URL (http, https, file) or a local path, and the sha256 the
/// archive must have. An archive unpacks to the task's folder of the standard layout (`RTE/train.tsv`, …).
struct GLUEArchive: Equatable {
    let task: GLUETask
    let source: String
    /// nil: no published checksum is known; the first download's sha256 is recorded and later downloads of
    /// the same source must match it.
    let sha256: String?

    var fileName: String { source.split(separator: "/").last.map(String.init) ?? task.directoryName + ".zip" }
}

enum GLUEArchives {
    /// The archives of the official GLUE download script on dl.fbaipublicfiles.com. Pinned checksums are those
    /// published with these archives (RTE, SST-2) or with their earlier copies on the GLUE authors' firebase
    /// storage, which the dl.fbaipublicfiles.com copies replaced (CoLA, STS-B, MNLI, QNLIv2); the RTE archive
    /// has the same checksum at both places. QQP-clean.zip has no published checksum; MRPC has no official
    /// archive (the script rebuilds it from Microsoft's installer), so it needs a `--sources` file.
    static let official: [GLUEArchive] = [
        GLUEArchive(task: .cola, source: "https://dl.fbaipublicfiles.com/glue/data/CoLA.zip",
                    sha256: "f212fcd832b8f7b435fb991f101abf89f96b933ab400603bf198960dfc32cbff"),
        GLUEArchive(task: .sst2, source: "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",
                    sha256: "d67e16fb55739c1b32cdce9877596db1c127dc322d93c082281f64057c16deaa"),
        GLUEArchive(task: .qqp, source: "https://dl.fbaipublicfiles.com/glue/data/QQP-clean.zip", sha256: nil),
        GLUEArchive(task: .stsb, source: "https://dl.fbaipublicfiles.com/glue/data/STS-B.zip",
                    sha256: "e60a6393de5a8b5b9bac5020a1554b54e3691f9d600b775bd131e613ac179c85"),
        GLUEArchive(task: .mnli, source: "https://dl.fbaipublicfiles.com/glue/data/MNLI.zip",
                    sha256: "e7c1d896d26ed6caf700110645df426cc2d8ebf02a5ab743d5a5c68ac1c83633"),
        GLUEArchive(task: .qnli, source: "https://dl.fbaipublicfiles.com/glue/data/QNLIv2.zip",
                    sha256: "e634e78627a29adaecd4f955359b22bf5e70f2cbd93b493f2d624138a0c0e5f5"),
        GLUEArchive(task: .rte, source: "https://dl.fbaipublicfiles.com/glue/data/RTE.zip",
                    sha256: "6bf86de103ecd335f3441bd43574d23fef87ecc695977a63b82d5efb206556ee"),
    ]

    /// The sources file at `path`, named by `option` (a flag or an environment variable) in errors.
    static func load(_ path: String, option: String) throws -> [GLUEArchive] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CommandLineError(message: "\(option): cannot read \(path)")
        }
        return try parse(text, path: path)
    }

    /// A sources file: `task source sha256` per line (`#` comments). A mirror or a folder of fixture archives
    /// is trusted only through its checksums, so every line must give one.
    static func parse(_ text: String, path: String) throws -> [GLUEArchive] {
        var archives: [GLUEArchive] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if fields.isEmpty { continue }
            let place = "\(path):\(index + 1)"
            guard fields.count == 3 else {
                throw CommandLineError(message: "\(place): expected 'task source sha256', got '\(line)'")
            }
            guard let task = GLUETask(rawValue: fields[0]) else {
                throw CommandLineError(message: "\(place): unknown task '\(fields[0])'; expected one of \(GLUETask.allNames.joined(separator: ", "))")
            }
            let sha = fields[2].lowercased()
            guard sha.count == 64, sha.allSatisfy(\.isHexDigit) else {
                throw CommandLineError(message: "\(place): '\(fields[2])' is not a sha256 (64 hex digits)")
            }
            archives.append(GLUEArchive(task: task, source: fields[1], sha256: sha))
        }
        return archives
    }
}
