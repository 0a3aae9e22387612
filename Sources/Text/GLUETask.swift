/// The eight GLUE tasks of the UniPELT comparison (WNLI is excluded), with where their files are, which columns
/// hold the text and the label, how labels map to integers (as in HF `datasets` "glue"), and how they are scored.
public enum GLUETask: String, CaseIterable, Codable, Sendable {
    case sst2, mrpc, cola, rte, qnli, stsb, mnli, qqp

    /// The task named `name` (its raw value, e.g. "rte"); the error lists the allowed names.
    public init(name: String) throws {
        guard let task = GLUETask(rawValue: name) else {
            throw TextError.unknownTask(name: name, allowed: GLUETask.allNames)
        }
        self = task
    }

    /// The names a job spec may use, in table order.
    public static var allNames: [String] { allCases.map(\.rawValue) }

    /// The task's folder in the standard GLUE layout (`download_glue_data.py`).
    public var directoryName: String {
        switch self {
        case .sst2: return "SST-2"
        case .mrpc: return "MRPC"
        case .cola: return "CoLA"
        case .rte: return "RTE"
        case .qnli: return "QNLI"
        case .stsb: return "STS-B"
        case .mnli: return "MNLI"
        case .qqp: return "QQP"
        }
    }

    /// The file of a split inside `directoryName`. MNLI is evaluated on the matched dev set.
    public func fileName(_ split: GLUESplit) -> String {
        switch (self, split) {
        case (_, .train): return "train.tsv"
        case (.mnli, .validation): return "dev_matched.tsv"
        case (_, .validation): return "dev.tsv"
        }
    }

    /// How many tab-separated fields a headerless file has; nil when the first line is a header naming them.
    /// Only CoLA has no header: source, label, original annotation, sentence.
    public var headerlessFieldCount: Int? {
        self == .cola ? 4 : nil
    }

    /// The text columns: one for single-sentence tasks, two for pair tasks (`task_to_keys` in HF `run_glue.py`).
    public var textColumns: [GLUEColumn] {
        switch self {
        case .cola: return [.position(3)]
        case .sst2: return [.named("sentence")]
        case .mrpc: return [.named("#1 String"), .named("#2 String")]
        case .qqp: return [.named("question1"), .named("question2")]
        case .stsb, .rte, .mnli: return [.named("sentence1"), .named("sentence2")]
        case .qnli: return [.named("question"), .named("sentence")]
        }
    }

    public var labelColumn: GLUEColumn {
        switch self {
        case .cola: return .position(1)
        case .sst2: return .named("label")
        case .mrpc: return .named("Quality")
        case .qqp: return .named("is_duplicate")
        case .stsb: return .named("score")
        case .rte, .qnli: return .named("label")
        case .mnli: return .named("gold_label")
        }
    }

    public var labelKind: LabelKind {
        switch self {
        case .cola: return .categories(fileValues: ["0", "1"], names: ["unacceptable", "acceptable"])
        case .sst2: return .categories(fileValues: ["0", "1"], names: ["negative", "positive"])
        case .mrpc: return .categories(fileValues: ["0", "1"], names: ["not_equivalent", "equivalent"])
        case .qqp: return .categories(fileValues: ["0", "1"], names: ["not_duplicate", "duplicate"])
        case .rte, .qnli:
            let names = ["entailment", "not_entailment"]
            return .categories(fileValues: names, names: names)
        case .mnli:
            let names = ["entailment", "neutral", "contradiction"]
            return .categories(fileValues: names, names: names)
        case .stsb: return .score(0...5)
        }
    }

    /// Outputs of the prediction head: the number of classes, or 1 for STS-B's regression.
    public var numberOfLabels: Int {
        switch labelKind {
        case let .categories(fileValues, _): return fileValues.count
        case .score: return 1
        }
    }

    public var isRegression: Bool { numberOfLabels == 1 }

    /// What is reported for the task, the selection metric first (the `glue` metric of HF `evaluate`, as in
    /// the UniPELT paper).
    public var metrics: [Metric] {
        switch self {
        case .cola: return [.matthewsCorrelation]
        case .mrpc, .qqp: return [.f1, .accuracy]
        case .stsb: return [.spearman, .pearson]
        case .sst2, .rte, .qnli, .mnli: return [.accuracy]
        }
    }

    /// The metric used for checkpoint selection and in the paper's tables.
    public var primaryMetric: Metric { metrics[0] }
}

/// The two files of a task: the train split, and the GLUE validation (dev) file that serves as the test set.
public enum GLUESplit: String, CaseIterable, Sendable {
    case train, validation
}

/// A TSV column, by header name or, for headerless files, by 0-based position.
public enum GLUEColumn: Equatable, Sendable, CustomStringConvertible {
    case named(String)
    case position(Int)

    public var description: String {
        switch self {
        case let .named(name): return name
        case let .position(index): return "#\(index)"
        }
    }
}

/// How a task's label column is read.
public enum LabelKind: Equatable, Sendable {
    /// Class `i` is written as `fileValues[i]`; `names` are the HF label names.
    case categories(fileValues: [String], names: [String])
    /// A real number within the range (STS-B similarity).
    case score(ClosedRange<Double>)
}
