import Foundation

/// The examples read from one GLUE file, and the rows that were skipped as malformed.
public struct GLUEFileData: Sendable {
    public let path: String
    public let examples: [GLUEExample]
    public let skipped: [SkippedRow]
}

/// A task's train split and its GLUE validation file (the test set of the protocol, see `KShotSplit`).
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
        let hasPair = task.textColumns.count == 2
        var examples: [GLUEExample] = []
        examples.reserveCapacity(contents.rows.count)
        var skipped = contents.skipped
        for row in contents.rows {
            do {
                let label = try parseLabel(row.fields[task.textColumns.count], kind: task.labelKind)
                examples.append(GLUEExample(text: row.fields[0], pair: hasPair ? row.fields[1] : nil,
                                            label: label, line: row.line))
            } catch {
                skipped.append(SkippedRow(line: row.line, reason: error))
            }
        }
        skipped.sort { $0.line < $1.line }
        return GLUEFileData(path: url.path, examples: examples, skipped: skipped)
    }

    /// Labels are compared exactly: GLUE files have no padding around them.
    private static func parseLabel(_ raw: String, kind: LabelKind) throws(SkippedRow.Reason) -> Label {
        if raw.isEmpty { throw .missingLabel }
        switch kind {
        case let .categories(fileValues, _):
            guard let index = fileValues.firstIndex(of: raw) else { throw .unparsableLabel(raw) }
            return .category(index)
        case let .score(range):
            guard let score = Double(raw), score.isFinite, range.contains(score) else { throw .unparsableLabel(raw) }
            return .score(score)
        }
    }
}
