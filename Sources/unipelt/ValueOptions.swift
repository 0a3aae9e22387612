/// Commands whose options all take one value (`--name VALUE`): parsed into a dictionary, anything unknown, a
/// missing value or a missing required option reported with the command's usage.
struct ValueOptions {
    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    private var values: [String: String] = [:]

    init(_ arguments: [String], allowed: [String], required: [String], usage: String) throws {
        var remaining = arguments[...]
        while let option = remaining.popFirst() {
            guard allowed.contains(option) else { throw UsageError(description: "unknown option '\(option)'\n\n\(usage)") }
            guard let value = remaining.popFirst() else { throw UsageError(description: "\(option) needs a value") }
            values[option] = value
        }
        for option in required where values[option] == nil {
            throw UsageError(description: "missing \(option)\n\n\(usage)")
        }
    }

    subscript(option: String) -> String? { values[option] }
}
