/// A data row that was not used, and why.
public struct SkippedRow: Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Error, Equatable, Sendable {
        case fieldCount(expected: Int, found: Int)
        case invalidUTF8
        case missingLabel
        case unparsableLabel(String)
    }

    /// 1-based line number in the file.
    public let line: Int
    public let reason: Reason

    public var description: String {
        switch reason {
        case let .fieldCount(expected, found): return "line \(line): \(found) fields, expected \(expected)"
        case .invalidUTF8: return "line \(line): not valid UTF-8"
        case .missingLabel: return "line \(line): empty label"
        case let .unparsableLabel(value): return "line \(line): label '\(value)' is not a valid label"
        }
    }
}
