/// Everything the Model module throws. Each case carries the file, tensor or field it is about.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unreadableFile(path: String, reason: String)
    case invalidConfig(path: String, field: String, reason: String)
    case invalidSafetensors(path: String, reason: String)
    case missingTensor(path: String, name: String)
    case shapeMismatch(path: String, name: String, expected: [Int], found: [Int])
    case unsupportedDType(path: String, name: String, dtype: String)
    case unknownParameter(name: String)
    case batchTooLarge(batch: Int, seqLen: Int, maxBatch: Int, maxSeqLen: Int)
    case invalidBatch(reason: String)
    case invalidPELTConfig(field: String, reason: String)
    case unknownMethod(String)

    /// A stable machine-readable code for logs and the API.
    public var code: String {
        switch self {
        case .unreadableFile: return "unreadable_file"
        case .invalidConfig: return "invalid_config"
        case .invalidSafetensors: return "invalid_safetensors"
        case .missingTensor: return "missing_tensor"
        case .shapeMismatch: return "shape_mismatch"
        case .unsupportedDType: return "unsupported_dtype"
        case .unknownParameter: return "unknown_parameter"
        case .batchTooLarge: return "batch_too_large"
        case .invalidBatch: return "invalid_batch"
        case .invalidPELTConfig: return "invalid_pelt_config"
        case .unknownMethod: return "unknown_method"
        }
    }

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason): return "cannot read \(path): \(reason)"
        case let .invalidConfig(path, field, reason): return "\(path): field '\(field)' \(reason)"
        case let .invalidSafetensors(path, reason): return "\(path): not a valid safetensors file: \(reason)"
        case let .missingTensor(path, name): return "\(path): tensor '\(name)' is missing"
        case let .shapeMismatch(path, name, expected, found):
            return "\(path): tensor '\(name)' has shape \(found), the config implies \(expected)"
        case let .unsupportedDType(path, name, dtype): return "\(path): tensor '\(name)' has unsupported dtype \(dtype)"
        case let .unknownParameter(name): return "no parameter named '\(name)'"
        case let .batchTooLarge(b, t, mb, mt):
            return "batch \(b)×\(t) exceeds the model's planned maximum \(mb)×\(mt)"
        case let .invalidBatch(reason): return "invalid batch: \(reason)"
        case let .invalidPELTConfig(field, reason): return "PELT config: '\(field)' \(reason)"
        case let .unknownMethod(name):
            return "unknown method '\(name)' (expected one of \(Method.allCases.map(\.rawValue).joined(separator: ", ")))"
        }
    }
}
