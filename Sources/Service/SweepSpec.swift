import Text
import Training

/// What a value in a request may be: the trainer's hyperparameter kinds (integer range, number range,
/// choice, boolean) serve for every field, so the service and the trainer share one set of rules.
public typealias ValueRule = HyperparameterKind

extension HyperparameterKind {
    /// Checks `value` at `param` with the trainer's own check (`admit`) and returns it unchanged, or throws an
    /// error naming `param`.
    func validate(_ value: JSONValue, at param: String) throws -> JSONValue {
        do {
            guard let scalar = HyperparameterValue(value) else { throw Mismatch.type }
            _ = try admit(scalar)
            return value
        } catch Mismatch.type {
            throw APIError.invalidValue(param, "expected \(self), got \(value.typeName)")
        } catch {
            if case let (.choice, .string(string)) = (self, value) {
                throw APIError.invalidValue(param, "unknown value \"\(string)\"; expected \(self)")
            }
            throw APIError.invalidValue(param, "expected \(self), got \(Self.render(value))")
        }
    }

    static func render(_ value: JSONValue) -> String {
        switch value {
        case let .number(number): return number.rounded() == number && abs(number) < 1e15 ? String(Int(number)) : String(number)
        case let .string(string): return "\"\(string)\""
        case let .bool(bool): return String(bool)
        default: return value.typeName
        }
    }
}

extension HyperparameterValue {
    /// A JSON scalar as a hyperparameter value (every JSON number is a `.number`); nil for null, arrays and objects.
    init?(_ json: JSONValue) {
        switch json {
        case let .number(number): self = .number(number)
        case let .string(string): self = .string(string)
        case let .bool(flag): self = .boolean(flag)
        default: return nil
        }
    }
}

extension JSONValue {
    /// A hyperparameter value as JSON (an integer is a number).
    init(_ value: HyperparameterValue) {
        switch value {
        case let .integer(v): self = .number(Double(v))
        case let .number(v): self = .number(v)
        case let .string(v): self = .string(v)
        case let .boolean(v): self = .bool(v)
        }
    }
}

/// The allowed vocabulary of a sweep, filled by the app from the Text, Model and Training tables.
public struct SweepVocabulary: Sendable {
    public var tasks: [String]
    public var methods: [String]
    public var models: [String]
    /// The installed folder `"model": "default"` names (the service's `default_model`). A job that names no model,
    /// or `default`, records this name, so that a later change of `default_model` changes neither the model a queued
    /// job trains nor the base model a trained one is used with. Nil keeps `default` as it is.
    public var defaultModel: String? = nil
    /// Hyperparameter name → rule, in documentation order.
    public var hyperparameters: [(name: String, rule: ValueRule)]
    public var maxJobsPerSweep: Int
    public var defaultMaxAttempts: Int
    /// Tasks and models a request may name but that cannot run yet because their files are not installed:
    /// name → why and how to install it. Such a request is refused before anything is stored.
    public var missingTasks: [String: String] = [:]
    public var missingModels: [String: String] = [:]
    /// Task → the largest K its installed train file allows (nil: not known, the job checks it when it runs).
    public var maximumK: @Sendable (String) -> Int? = { _ in nil }
}

/// One cell of a sweep's grid: everything a job needs, plus its deterministic key.
public struct JobCell: Equatable, Sendable {
    public var task: String
    public var k: TrainingSize
    public var seed: Int
    public var method: String
    public var model: String
    /// Only the hyperparameters the request set, as name → value (scalars).
    public var hyperparameters: [(name: String, value: JSONValue)]

    public static func == (lhs: JobCell, rhs: JobCell) -> Bool {
        lhs.key == rhs.key && lhs.model == rhs.model
            && lhs.hyperparameters.map(\.name) == rhs.hyperparameters.map(\.name)
            && lhs.hyperparameters.map(\.value) == rhs.hyperparameters.map(\.value)
    }

    /// `rte/K=100/seed=1/unipelt-apl`, plus `/name=value` for every hyperparameter that varies in the
    /// sweep, so two cells of one sweep never share a key.
    public var key: String { keyParts(varying: Set(hyperparameters.map(\.name))) }

    func keyParts(varying: Set<String>) -> String {
        var key = "\(task)/K=\(k)/seed=\(seed)/\(method)"
        for (name, value) in hyperparameters where varying.contains(name) {
            key += "/\(name)=\(ValueRule.render(value).replacingOccurrences(of: "\"", with: ""))"
        }
        return key
    }
}

/// A validated sweep request.
public struct SweepSpec: Sendable {
    public var name: String?
    public var cells: [JobCell]
    /// Cell keys in the same order as `cells`.
    public var keys: [String]
    public var maxConcurrency: Int?
    public var maxAttempts: Int
    public var metadata: [(key: String, value: String)]
    public var dryRun: Bool

    /// Seeds of a sweep that names none: the paper averages five runs.
    public static let defaultSeeds = [1, 2, 3, 4, 5]

    static let fields = ["name", "tasks", "k", "seeds", "methods", "model", "hyperparameters",
                         "max_concurrency", "max_attempts", "metadata", "dry_run"]

    /// Validates every field before anything is stored; the first problem is thrown naming its field.
    public static func validate(_ body: JSONValue, vocabulary: SweepVocabulary) throws -> SweepSpec {
        let members = try objectMembers(body, at: "body")
        for (key, _) in members where !fields.contains(key) {
            throw APIError.unknownParameter(key, allowed: fields)
        }
        let name = try body["name"].map { try string($0, at: "name", maxLength: 200) }
        let tasks = try list(body["tasks"], at: "tasks", required: true) { try task($0, at: $1, vocabulary: vocabulary) }
        let ks = try list(body["k"], at: "k", required: true, trainingSize)
        let seeds = body["seeds"] == nil ? defaultSeeds : try list(body["seeds"], at: "seeds", required: true, seed)
        let methods = try list(body["methods"], at: "methods", required: true) { try method($0, at: $1, vocabulary: vocabulary) }
        let model = try Self.model(body["model"], vocabulary: vocabulary)
        let axes = try hyperparameterAxes(body["hyperparameters"], vocabulary: vocabulary)
        let maxConcurrency = try body["max_concurrency"].map { try integer($0, at: "max_concurrency", in: 1...10_000) }
        let maxAttempts = try Self.maxAttempts(body["max_attempts"], vocabulary: vocabulary)
        let metadata = try Self.metadata(body["metadata"])
        let dryRun = try body["dry_run"].map { value -> Bool in
            guard case let .bool(flag) = value else { throw APIError.invalidValue("dry_run", "expected true or false") }
            return flag
        } ?? false

        let count = [tasks.count, ks.count, seeds.count, methods.count].reduce(1, *)
            * axes.reduce(1) { $0 * $1.values.count }
        guard count <= vocabulary.maxJobsPerSweep else {
            throw APIError.tooManyJobs(count, limit: vocabulary.maxJobsPerSweep)
        }
        for task in tasks {
            let maximum = vocabulary.maximumK(task)
            for (index, k) in ks.enumerated() { try checkTrainingSize(k, of: task, maximum: maximum, at: "k[\(index)]") }
        }
        let varying = Set(axes.filter { $0.values.count > 1 }.map(\.name))
        var cells: [JobCell] = []
        cells.reserveCapacity(count)
        for task in tasks {
            for k in ks {
                for seed in seeds {
                    for method in methods {
                        for combination in cartesianProduct(axes) {
                            cells.append(JobCell(task: task, k: k, seed: seed, method: method, model: model,
                                                 hyperparameters: combination))
                        }
                    }
                }
            }
        }
        let keys = cells.map { $0.keyParts(varying: varying) }
        return SweepSpec(name: name, cells: cells, keys: keys, maxConcurrency: maxConcurrency,
                         maxAttempts: maxAttempts, metadata: metadata, dryRun: dryRun)
    }

    // MARK: Field rules, shared with the single-job request (API/JobRequest.swift)

    static func task(_ value: JSONValue, at param: String, vocabulary: SweepVocabulary) throws -> String {
        let task = try string(ValueRule.choice(vocabulary.tasks).validate(value, at: param), at: param)
        if let reason = vocabulary.missingTasks[task] { throw APIError.notInstalled(param, reason) }
        return task
    }

    static func trainingSize(_ value: JSONValue, at param: String) throws -> TrainingSize {
        if case .string("all") = value { return .all }
        guard case .number = value else {
            throw APIError.invalidValue(param, "expected a positive integer or \"all\", got \(ValueRule.render(value))")
        }
        return .k(try integer(value, at: param, in: 1...10_000_000))
    }

    /// A K that leaves the task's train file too few rows for the dev set fails every job it makes: refuse it now.
    /// `maximum` is the task's `SweepVocabulary.maximumK`.
    static func checkTrainingSize(_ k: TrainingSize, of task: String, maximum: Int?, at param: String) throws {
        guard case let .k(count) = k, let maximum, count > maximum else { return }
        let rows = "its train file has \(maximum + KShotSplit.standardDevSize) usable rows"
        throw APIError.invalidValue(param, maximum < 1
            ? "\(rows), fewer than the \(KShotSplit.standardDevSize) its dev set takes, so only \"all\" can run on \(task)"
            : "K=\(count) leaves \(task) fewer than \(KShotSplit.standardDevSize) rows for its dev set: \(rows), "
                + "so K is at most \(maximum)")
    }

    static func seed(_ value: JSONValue, at param: String) throws -> Int {
        try integer(value, at: param, in: 0...Int(Int32.max))
    }

    static func method(_ value: JSONValue, at param: String, vocabulary: SweepVocabulary) throws -> String {
        try string(ValueRule.choice(vocabulary.methods).validate(value, at: param), at: param)
    }

    static func model(_ value: JSONValue?, vocabulary: SweepVocabulary) throws -> String {
        let model = try value.map { try string(ValueRule.choice(vocabulary.models).validate($0, at: "model"), at: "model") }
            ?? "default"
        if let reason = vocabulary.missingModels[model] { throw APIError.notInstalled("model", reason) }
        return model == "default" ? vocabulary.defaultModel ?? model : model
    }

    static func maxAttempts(_ value: JSONValue?, vocabulary: SweepVocabulary) throws -> Int {
        try value.map { try integer($0, at: "max_attempts", in: 1...100) } ?? vocabulary.defaultMaxAttempts
    }

    static func metadata(_ value: JSONValue?) throws -> [(key: String, value: String)] {
        try value.map { value in
            try objectMembers(value, at: "metadata").map { member in
                (member.key, try string(member.value, at: "metadata.\(member.key)", maxLength: 1_000))
            }
        } ?? []
    }

    /// The rule of the hyperparameter `name`; an unknown name is an `unknown_parameter` error.
    static func hyperparameterRule(_ name: String, vocabulary: SweepVocabulary) throws -> ValueRule {
        guard let rule = vocabulary.hyperparameters.first(where: { $0.name == name })?.rule else {
            throw APIError.unknownParameter("hyperparameters.\(name)",
                                            allowed: vocabulary.hyperparameters.map { "hyperparameters.\($0.name)" })
        }
        return rule
    }

    // MARK: Field helpers

    static func objectMembers(_ value: JSONValue, at param: String) throws -> [(key: String, value: JSONValue)] {
        guard case let .object(members) = value else {
            throw APIError.invalidValue(param, "expected an object, got \(value.typeName)")
        }
        return members
    }

    static func string(_ value: JSONValue, at param: String, maxLength: Int = 200) throws -> String {
        guard case let .string(string) = value else {
            throw APIError.invalidValue(param, "expected a string, got \(value.typeName)")
        }
        guard string.count <= maxLength else { throw APIError.invalidValue(param, "longer than \(maxLength) characters") }
        return string
    }

    static func integer(_ value: JSONValue, at param: String, in range: ClosedRange<Int>) throws -> Int {
        _ = try ValueRule.integer(range).validate(value, at: param)
        guard case let .number(number) = value else { preconditionFailure("validated as a number") }
        return Int(number)
    }

    /// A grid axis: a scalar is a one-element list; a list must be non-empty and without repeats (a repeat
    /// would make two cells with one key). Elements are named `field[i]`.
    private static func list<Element: Equatable>(_ value: JSONValue?, at param: String, required: Bool,
                                                 _ element: (JSONValue, String) throws -> Element) throws -> [Element] {
        guard let value else {
            if required { throw APIError.missingParameter(param) }
            return []
        }
        guard case let .array(values) = value else { return [try element(value, param)] }
        guard !values.isEmpty else { throw APIError.invalidValue(param, "expected at least one value") }
        var elements: [Element] = []
        for (index, value) in values.enumerated() {
            let parsed = try element(value, "\(param)[\(index)]")
            if let first = elements.firstIndex(of: parsed) {
                throw APIError.invalidValue("\(param)[\(index)]", "repeats \(param)[\(first)]; remove the repeated value")
            }
            elements.append(parsed)
        }
        return elements
    }

    private static func hyperparameterAxes(_ value: JSONValue?, vocabulary: SweepVocabulary) throws
        -> [(name: String, values: [JSONValue])] {
        guard let value else { return [] }
        return try objectMembers(value, at: "hyperparameters").map { member in
            let param = "hyperparameters.\(member.key)"
            let rule = try hyperparameterRule(member.key, vocabulary: vocabulary)
            return (member.key, try list(member.value, at: param, required: true) { try rule.validate($0, at: $1) })
        }
    }

    private static func cartesianProduct(_ axes: [(name: String, values: [JSONValue])]) -> [[(name: String, value: JSONValue)]] {
        axes.reduce([[]]) { partial, axis in
            partial.flatMap { prefix in axis.values.map { prefix + [(axis.name, $0)] } }
        }
    }
}
