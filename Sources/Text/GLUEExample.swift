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
