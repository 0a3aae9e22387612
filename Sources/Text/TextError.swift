import Foundation

/// Every failure of the Text module. Each case names what was wrong (file, line, column, task or value), so a
/// caller can show it to a user as is; `code` is stable for machines (API error codes, logs).
public enum TextError: Error, Equatable, Sendable {
    /// A file that should exist does not.
    case missingFile(path: String)
    /// A file could not be opened or read.
    case unreadableFile(path: String, reason: String)
    /// A vocabulary line is not valid UTF-8.
    case invalidVocabularyLine(path: String, line: Int)
    /// The vocabulary lacks a token the tokenizer cannot work without (`[CLS]`, `[SEP]`, `[UNK]`, `[PAD]`).
    case missingVocabularyToken(path: String, token: String)
    /// A TSV file has no header line although the task's layout needs one.
    case missingHeader(path: String)
    /// A column the task reads is not in the file's header.
    case missingColumn(path: String, column: String, header: [String])
    /// A task name that is not one of the supported GLUE tasks.
    case unknownTask(name: String, allowed: [String])
    /// K must be a positive number of training examples.
    case invalidTrainingSize(k: Int)
    /// K leaves fewer than `devSize` rows of the train split for the dev set.
    case trainingSizeTooLarge(task: GLUETask, k: Int, maximum: Int, trainRows: Int, devSize: Int)

    /// A short stable identifier of the failure kind.
    public var code: String {
        switch self {
        case .missingFile: return "missing_file"
        case .unreadableFile: return "unreadable_file"
        case .invalidVocabularyLine: return "invalid_vocabulary_line"
        case .missingVocabularyToken: return "missing_vocabulary_token"
        case .missingHeader: return "missing_header"
        case .missingColumn: return "missing_column"
        case .unknownTask: return "unknown_task"
        case .invalidTrainingSize: return "invalid_training_size"
        case .trainingSizeTooLarge: return "training_size_too_large"
        }
    }
}

extension TextError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .missingFile(path):
            return "no such file: \(path)"
        case let .unreadableFile(path, reason):
            return "cannot read \(path): \(reason)"
        case let .invalidVocabularyLine(path, line):
            return "\(path):\(line): vocabulary line is not valid UTF-8"
        case let .missingVocabularyToken(path, token):
            return "\(path): vocabulary has no \(token) token"
        case let .missingHeader(path):
            return "\(path): file is empty, expected a header line"
        case let .missingColumn(path, column, header):
            return "\(path): no column '\(column)' in header [\(header.joined(separator: ", "))]"
        case let .unknownTask(name, allowed):
            return "unknown task '\(name)'; expected one of \(allowed.joined(separator: ", "))"
        case let .invalidTrainingSize(k):
            return "k must be a positive integer or \"all\", got \(k)"
        case let .trainingSizeTooLarge(task, k, maximum, trainRows, devSize):
            return "k = \(k) is too large for \(task.rawValue): its train split has \(trainRows) usable rows and "
                + "\(devSize) are held out as the dev set, so k can be at most \(maximum)"
        }
    }

    public var errorDescription: String? { description }
}
