/// Why a safetensors file could not be read or written, with the file and (when known) the tensor.
public struct SafetensorsError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Stable identifiers: callers and tests match on these, never on the message.
    public enum Code: String, Sendable {
        case unreadable            // open/stat/read failed
        case truncated             // the file ends before the header or before a tensor's last byte
        case invalidHeaderLength   // the 8-byte length is 0 or beyond the file or limit
        case invalidHeaderJSON     // the header is not UTF-8 JSON with an object at the top
        case invalidEntry          // an entry misses or mistypes dtype/shape/data_offsets, or bad __metadata__
        case unsupportedDType      // a dtype this reader neither loads nor knowingly skips
        case offsetsOutOfRange     // data_offsets negative or begin > end
        case overlappingOffsets    // two tensors share bytes
        case byteCountMismatch     // end − begin ≠ product(shape) × dtype size
        case invalidName           // empty or reserved tensor name on write
        case writeFailed           // create/write/fsync/rename failed
    }

    public let code: Code
    public let file: String
    public let tensor: String?
    public let detail: String
    /// The `errno` of the system call that failed, when one did (ENOSPC tells a full disk from the rest).
    public let systemError: Int32?

    public init(_ code: Code, file: String, tensor: String? = nil, _ detail: String, systemError: Int32? = nil) {
        self.code = code
        self.file = file
        self.tensor = tensor
        self.detail = detail
        self.systemError = systemError
    }

    public var description: String {
        "safetensors \(code.rawValue): \(file)" + (tensor.map { " tensor '\($0)'" } ?? "") + ": \(detail)"
    }
}
