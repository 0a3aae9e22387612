import Foundation
import Training

/// The job spec as stored in the job store: `{"task","k","seed","method","model","hyperparameters"}`
/// with only the hyperparameters the request set (the method's defaults fill the rest at run time).
public enum JobSpecCoding {
    public struct DecodeError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The stored JSON of one grid cell.
    public static func encode(_ cell: JobCell) -> String {
        var members: [(key: String, value: JSONValue)] = [
            ("task", .string(cell.task)),
            ("k", { if case let .k(k) = cell.k { return .number(Double(k)) } else { return .string("all") } }()),
            ("seed", .number(Double(cell.seed))),
            ("method", .string(cell.method)),
            ("model", .string(cell.model)),
        ]
        members.append(("hyperparameters", .object(cell.hyperparameters.map { ($0.name, $0.value) })))
        return JSONValue.object(members).serialized()
    }

    /// The trainer's spec for a stored job spec; hyperparameters are checked against the trainer's table.
    public static func trainingSpec(fromStored text: String) throws -> TrainingSpec {
        let value: JSONValue
        do { value = try JSONParser.parse(Array(text.utf8)) } catch {
            throw DecodeError(description: "stored job spec is not valid JSON: \(error)")
        }
        guard case let .string(task)? = value["task"], case let .number(seed)? = value["seed"],
              case let .string(method)? = value["method"], case let .string(model)? = value["model"] else {
            throw DecodeError(description: "stored job spec lacks task, seed, method or model: \(text)")
        }
        let k: Int?
        switch value["k"] {
        case let .number(number)?: k = Int(number)
        case .string("all")?: k = nil
        default: throw DecodeError(description: "stored job spec has no valid k: \(text)")
        }
        var overrides: [String: HyperparameterValue] = [:]
        if case let .object(members)? = value["hyperparameters"] {
            for (name, setting) in members {
                guard let value = HyperparameterValue(setting) else {
                    throw DecodeError(description: "hyperparameter \(name) has a \(setting.typeName) value")
                }
                overrides[name] = value
            }
        }
        return try TrainingSpec(task: task, k: k, seed: Int(seed), method: method, model: model, overrides: overrides)
    }
}

extension JSONValue {
    /// Compact JSON text; numbers that are integers print without a fraction.
    public func serialized() -> String {
        switch self {
        case .null: return "null"
        case let .bool(flag): return flag ? "true" : "false"
        case let .number(number):
            if number.rounded() == number && abs(number) < 1e15 { return String(Int64(number)) }
            return "\(number)"
        case let .string(string): return Self.quoted(string)
        case let .array(values): return "[" + values.map { $0.serialized() }.joined(separator: ",") + "]"
        case let .object(members):
            return "{" + members.map { Self.quoted($0.key) + ":" + $0.value.serialized() }.joined(separator: ",") + "}"
        }
    }

    /// A JSON string literal, escaped by Foundation's encoder.
    private static func quoted(_ string: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return String(decoding: (try? encoder.encode(string)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}
