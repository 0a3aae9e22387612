import Foundation

/// An optional property that JSON shows as `null` rather than leaving its key out, so every object of a
/// kind has the same keys.
@propertyWrapper
public struct EncodedAsNull<Value: Encodable & Equatable & Sendable>: Encodable, Equatable, Sendable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

/// Builds a CSV text: fields with a comma, quote or line break are quoted.
struct CSVTable {
    private(set) var text: String

    init(header: [String]) {
        text = ""
        append(header)
    }

    mutating func append(_ fields: [String]) {
        text += fields.map(Self.field).joined(separator: ",") + "\n"
    }

    private static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Two decimals, the tables' precision on the 0–100 scale.
    static func fixed(_ value: Double) -> String { String(format: "%.2f", value) }

    /// Two decimals with an explicit sign, for differences and margins.
    static func signed(_ value: Double) -> String { String(format: "%+.2f", value) }

    static func number(_ value: Double?) -> String { value.map { String(format: "%.6g", $0) } ?? "" }
}
