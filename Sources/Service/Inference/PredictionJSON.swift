import Foundation
import Text
import Training

/// Prediction inputs and answers as JSON, shared by `POST /v1/jobs/{id}/predict` and `unipelt predict`.
public enum PredictionJSON {
    /// One input: `["a sentence"]` or `["a premise", "a hypothesis"]`. Errors name `field`.
    public static func input(_ value: JSONValue, at field: String) throws -> PredictionInput {
        guard case let .array(items) = value else {
            throw APIError.invalidValue(field, "expected an array of 1 or 2 strings, got \(value.typeName)")
        }
        let texts = try items.enumerated().map { index, item -> String in
            guard case let .string(text) = item else {
                throw APIError.invalidValue("\(field)[\(index)]", "expected a string, got \(item.typeName)")
            }
            return text
        }
        guard texts.count == 1 || texts.count == 2 else {
            throw PredictionError.wrongArity(field: field, count: texts.count)
        }
        return PredictionInput(text: texts[0], pair: texts.count == 2 ? texts[1] : nil)
    }

    /// The answer for one input, `index` its position in the request.
    public struct Object: Encodable {
        let object = "prediction"
        let index: Int
        let label: String?
        /// By label name.
        let probabilities: [String: Double]?
        let score: Double?
        let logits: [Float]

        public init(_ prediction: Prediction, index: Int, task: GLUETask) {
            self.index = index
            label = prediction.label
            if case let .categories(_, names) = task.labelKind {
                probabilities = Dictionary(uniqueKeysWithValues: zip(names, prediction.probabilities))
            } else {
                probabilities = nil
            }
            score = prediction.score
            logits = prediction.logits
        }
    }

    public static func encode(_ object: Object) throws -> [UInt8] { try APIJSON.encode(object) }
}
