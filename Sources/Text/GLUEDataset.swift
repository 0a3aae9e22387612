import Foundation

/// A labelled GLUE example: one text, or a pair, and its label.
public struct GLUEExample: Equatable, Sendable {
    public let text: String
    /// The second text of pair tasks; nil for SST-2 and CoLA.
    public let pair: String?
    public let label: Label
    /// 1-based line in the source file, to trace an example back to its row.
    public let line: Int

    public init(text: String, pair: String?, label: Label, line: Int) {
        self.text = text
        self.pair = pair
        self.label = label
        self.line = line
    }
}

/// A label: a class index for classification tasks, a score for STS-B.
public enum Label: Hashable, Sendable {
    case category(Int)
    case score(Double)

    public var category: Int? {
        if case let .category(value) = self { return value }
        return nil
    }

    /// The regression target; a class index as a number for classification.
    public var value: Double {
        switch self {
        case let .category(value): return Double(value)
        case let .score(value): return value
        }
    }
}

/// The examples read from one GLUE file, and the rows that were skipped as malformed.
public struct GLUEFileData: Sendable {
    public let path: String
    public let examples: [GLUEExample]
    public let skipped: [SkippedRow]
}

/// A task's train split and its GLUE validation file (the test set of the protocol, method.md §10.1).
public struct GLUEDataset: Sendable {
    public let task: GLUETask
    public let train: GLUEFileData
    public let validation: GLUEFileData

    /// Reads `<glueDirectory>/<TASK>/train.tsv` and the task's dev file.
    public static func load(task: GLUETask, glueDirectory: URL) throws -> GLUEDataset {
        GLUEDataset(task: task,
                    train: try read(task: task, split: .train, glueDirectory: glueDirectory),
                    validation: try read(task: task, split: .validation, glueDirectory: glueDirectory))
    }

    /// Reads one file of a task. Rows with the wrong field count, bytes that are not UTF-8, or a missing or
    /// unparsable label are skipped and listed; a missing file or column throws.
    public static func read(task: GLUETask, split: GLUESplit, glueDirectory: URL) throws -> GLUEFileData {
        let url = glueDirectory.appendingPathComponent(task.directoryName).appendingPathComponent(task.fileName(split))
        let columns = task.textColumns + [task.labelColumn]
        let contents = try TSVReader.read(url, headerlessFieldCount: task.headerlessFieldCount, columns: columns)
        var examples: [GLUEExample] = []
        examples.reserveCapacity(contents.rows.count)
        var skipped = contents.skipped
        for row in contents.rows {
            let rawLabel = row.fields[columns.count - 1]
            switch parseLabel(rawLabel, kind: task.labelKind) {
            case let .success(label):
                examples.append(GLUEExample(text: row.fields[0], pair: columns.count == 3 ? row.fields[1] : nil,
                                            label: label, line: row.line))
            case let .failure(reason):
                skipped.append(SkippedRow(line: row.line, reason: reason.reason))
            }
        }
        skipped.sort { $0.line < $1.line }
        return GLUEFileData(path: url.path, examples: examples, skipped: skipped)
    }

    private struct LabelFailure: Error {
        let reason: SkippedRow.Reason
    }

    /// Labels are compared exactly: GLUE files have no padding around them.
    private static func parseLabel(_ raw: String, kind: LabelKind) -> Result<Label, LabelFailure> {
        if raw.isEmpty { return .failure(LabelFailure(reason: .missingLabel)) }
        switch kind {
        case let .categories(fileValues, _):
            guard let index = fileValues.firstIndex(of: raw) else {
                return .failure(LabelFailure(reason: .unparsableLabel(raw)))
            }
            return .success(.category(index))
        case let .score(range):
            guard let score = Double(raw), score.isFinite, range.contains(score) else {
                return .failure(LabelFailure(reason: .unparsableLabel(raw)))
            }
            return .success(.score(score))
        }
    }
}
