import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The tensors of one safetensors file, converted to Float32.
public struct SafetensorsFile {
    /// An entry left out of `tensors` because it is not floating point (e.g. BERT's `position_ids`, I64).
    public struct Skipped: Equatable, Sendable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
    }

    public let path: String
    public let tensors: [String: Tensor]
    /// Names of the loaded tensors in file (offset) order.
    public let names: [String]
    public let skipped: [Skipped]
    public let metadata: [String: String]
}

/// Reader and writer for the safetensors format: 8-byte little-endian header length N, N bytes of JSON
/// `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}}`, then the
/// data section that the offsets index.
public enum Safetensors {
    /// Same bound as the reference implementation: a header is metadata, never bulk data.
    static let maxHeaderBytes = 100_000_000

    enum DType {
        case float32, float16, bfloat16, float64
        case skipped(size: Int)

        init?(_ name: String) {
            switch name {
            case "F32": self = .float32
            case "F16": self = .float16
            case "BF16": self = .bfloat16
            case "F64": self = .float64
            case "I64", "U64": self = .skipped(size: 8)
            case "I32", "U32": self = .skipped(size: 4)
            case "I16", "U16": self = .skipped(size: 2)
            case "I8", "U8", "BOOL": self = .skipped(size: 1)
            default: return nil
            }
        }

        var size: Int {
            switch self {
            case .float32: return 4
            case .float16, .bfloat16: return 2
            case .float64: return 8
            case .skipped(let size): return size
            }
        }
    }

    struct Entry {
        let name: String
        let dtypeName: String
        let dtype: DType
        let shape: [Int]
        let begin: Int
        let end: Int
    }

    // MARK: Reading

    /// Reads every floating-point tensor (F32 as is; F16, BF16 and F64 converted), skips integer and bool
    /// tensors (listed in `skipped`), and validates the whole header first: any inconsistency throws
    /// `SafetensorsError` naming the file and tensor, before any tensor memory is filled.
    public static func read(path: String) throws -> SafetensorsFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw systemFailure(.unreadable, path, "open") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw systemFailure(.unreadable, path, "fstat") }
        let fileSize = Int(info.st_size)

        guard fileSize >= 8 else {
            throw SafetensorsError(.truncated, file: path, "\(fileSize) bytes, shorter than the 8-byte header length")
        }
        var lengthBytes = [UInt8](repeating: 0, count: 8)
        try readExactly(fd, into: &lengthBytes, count: 8, at: 0, path: path, tensor: nil)
        let headerLength = lengthBytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength > 0, headerLength <= UInt64(maxHeaderBytes) else {
            throw SafetensorsError(.invalidHeaderLength, file: path,
                                   "header length \(headerLength) outside 1...\(maxHeaderBytes)")
        }
        guard Int(headerLength) <= fileSize - 8 else {
            throw SafetensorsError(.truncated, file: path,
                                   "header length \(headerLength) but only \(fileSize - 8) bytes follow")
        }
        var header = [UInt8](repeating: 0, count: Int(headerLength))
        try readExactly(fd, into: &header, count: header.count, at: 8, path: path, tensor: nil)
        let dataStart = 8 + Int(headerLength)
        let (entries, metadata) = try parseHeader(header, dataSize: fileSize - dataStart, path: path)

        var tensors: [String: Tensor] = [:]
        var names: [String] = []
        var skipped: [SafetensorsFile.Skipped] = []
        for entry in entries {
            if case .skipped = entry.dtype {
                skipped.append(.init(name: entry.name, dtype: entry.dtypeName, shape: entry.shape))
                continue
            }
            tensors[entry.name] = try readTensor(fd, entry, dataStart: dataStart, path: path)
            names.append(entry.name)
        }
        return SafetensorsFile(path: path, tensors: tensors, names: names, skipped: skipped, metadata: metadata)
    }

    /// Parses and validates the header: entries sorted by offset, non-overlapping, inside `dataSize`.
    static func parseHeader(_ header: [UInt8], dataSize: Int, path: String) throws -> ([Entry], [String: String]) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(header), options: [])
        } catch {
            throw SafetensorsError(.invalidHeaderJSON, file: path, "header is not valid JSON")
        }
        guard let top = object as? [String: Any] else {
            throw SafetensorsError(.invalidHeaderJSON, file: path, "header JSON is not an object")
        }
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (name, value) in top {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else {
                    throw SafetensorsError(.invalidEntry, file: path, "__metadata__ is not an object")
                }
                for (key, item) in map {
                    guard let text = item as? String else {
                        throw SafetensorsError(.invalidEntry, file: path, "__metadata__ value for '\(key)' is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            entries.append(try parseEntry(name, value, dataSize: dataSize, path: path))
        }
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        for (previous, next) in zip(entries, entries.dropFirst()) where next.begin < previous.end {
            throw SafetensorsError(.overlappingOffsets, file: path, tensor: next.name,
                                   "bytes \(next.begin)..<\(next.end) overlap '\(previous.name)' at \(previous.begin)..<\(previous.end)")
        }
        return (entries, metadata)
    }

    private static func parseEntry(_ name: String, _ value: Any, dataSize: Int, path: String) throws -> Entry {
        func invalid(_ detail: String) -> SafetensorsError {
            SafetensorsError(.invalidEntry, file: path, tensor: name, detail)
        }
        guard let fields = value as? [String: Any] else { throw invalid("entry is not an object") }
        guard let dtypeName = fields["dtype"] as? String else { throw invalid("missing or non-string dtype") }
        guard let dtype = DType(dtypeName) else {
            throw SafetensorsError(.unsupportedDType, file: path, tensor: name, "dtype \(dtypeName)")
        }
        guard let shape = integers(fields["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
            throw invalid("shape is not a list of non-negative integers")
        }
        guard let offsets = integers(fields["data_offsets"]), offsets.count == 2 else {
            throw invalid("data_offsets is not a list of two integers")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, begin <= end else {
            throw SafetensorsError(.offsetsOutOfRange, file: path, tensor: name,
                                   "data_offsets [\(begin), \(end)] are not an ordered pair of non-negative offsets")
        }
        guard end <= dataSize else {
            throw SafetensorsError(.truncated, file: path, tensor: name,
                                   "bytes end at \(end) but the data section holds only \(dataSize)")
        }
        var expected = dtype.size
        for dim in shape {
            let (product, overflow) = expected.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw invalid("shape \(shape) overflows") }
            expected = product
        }
        guard end - begin == expected else {
            throw SafetensorsError(.byteCountMismatch, file: path, tensor: name,
                                   "\(dtypeName) \(shape) needs \(expected) bytes, offsets give \(end - begin)")
        }
        if case .skipped = dtype {} else if shape.count > 4 {
            throw invalid("rank \(shape.count) above the supported 4")
        }
        return Entry(name: name, dtypeName: dtypeName, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// A JSON array of integers (rejecting fractions and booleans), or nil.
    private static func integers(_ value: Any?) -> [Int]? {
        guard let items = value as? [Any] else { return nil }
        var result: [Int] = []
        for item in items {
            // Foundation bridges JSON true to NSNumber; its objCType "c" tells it apart from an integer.
            guard let number = item as? NSNumber, String(cString: number.objCType) != "c",
                  let value = item as? Int else { return nil }
            result.append(value)
        }
        return result
    }

    private static func readTensor(_ fd: Int32, _ entry: Entry, dataStart: Int, path: String) throws -> Tensor {
        let tensor = Tensor(uninitializedShape: Shape(entry.shape))  // every element is written below
        let count = tensor.count
        let offset = dataStart + entry.begin
        let out = tensor.mutableData
        switch entry.dtype {
        case .float32:
            try readExactly(fd, into: UnsafeMutableRawPointer(out), count: count * 4, at: offset, path: path,
                            tensor: entry.name)
        case .float16, .bfloat16:
            var raw = [UInt16](repeating: 0, count: count)
            try raw.withUnsafeMutableBytes {
                try readExactly(fd, into: $0.baseAddress!, count: count * 2, at: offset, path: path, tensor: entry.name)
            }
            if case .float16 = entry.dtype {
                for i in 0..<count { out[i] = floatFromHalf(UInt16(littleEndian: raw[i])) }
            } else {
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: raw[i])) << 16) }
            }
        case .float64:
            var raw = [Double](repeating: 0, count: count)
            try raw.withUnsafeMutableBytes {
                try readExactly(fd, into: $0.baseAddress!, count: count * 8, at: offset, path: path, tensor: entry.name)
            }
            for i in 0..<count { out[i] = Float(raw[i]) }
        case .skipped:
            preconditionFailure("skipped dtypes are filtered before reading")
        }
        return tensor
    }

    /// IEEE binary16 → binary32, exact for every value including subnormals, infinities and NaN.
    static func floatFromHalf(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int((h >> 10) & 0x1f)
        let mantissa = UInt32(h & 0x3ff)
        if exponent == 0x1f { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }
        if exponent == 0 {
            // Subnormal half: mantissa · 2⁻²⁴, exactly representable in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }

    private static func readExactly(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int,
                                    path: String, tensor: String?) throws {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw systemFailure(.unreadable, path, tensor: tensor, "read at \(offset + done)")
            }
            if n == 0 {
                throw SafetensorsError(.truncated, file: path, tensor: tensor,
                                       "file ends at \(offset + done), \(count - done) bytes short")
            }
            done += n
        }
    }

    private static func readExactly(_ fd: Int32, into bytes: inout [UInt8], count: Int, at offset: Int,
                                    path: String, tensor: String?) throws {
        try bytes.withUnsafeMutableBytes {
            try readExactly(fd, into: $0.baseAddress!, count: count, at: offset, path: path, tensor: tensor)
        }
    }

    // MARK: Writing

    /// Writes `tensors` as F32 with `metadata`, atomically: a temporary file in the same directory is
    /// written, fsynced and renamed over `path`, then the directory is fsynced, so a crash leaves either the
    /// old file or the complete new one. Tensors are stored in name order.
    public static func write(_ tensors: [String: TensorView], metadata: [String: String] = [:], to path: String) throws {
        let names = tensors.keys.sorted()
        for name in names where name.isEmpty || name == "__metadata__" {
            throw SafetensorsError(.invalidName, file: path, tensor: name, "reserved or empty tensor name")
        }
        var header = "{"
        var fields: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            fields.append("\"__metadata__\":{" + items.joined(separator: ",") + "}")
        }
        var offset = 0
        for name in names {
            let view = tensors[name]!
            let bytes = view.count * 4
            let shape = view.shape.dims.map(String.init).joined(separator: ",")
            fields.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        header += fields.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        // Pad with spaces so the data section starts 8-byte aligned (as the reference writer does).
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

        let directory = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let temporary = (directory.isEmpty ? "" : directory + "/") + ".\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw systemFailure(.writeFailed, path, "create \(temporary)") }
        do {
            var length = UInt64(headerBytes.count).littleEndian
            try withUnsafeBytes(of: &length) { try writeAll(fd, $0.baseAddress!, 8, path) }
            try headerBytes.withUnsafeBytes { try writeAll(fd, $0.baseAddress!, headerBytes.count, path) }
            for name in names {
                let view = tensors[name]!
                try writeAll(fd, UnsafeRawPointer(view.data), view.count * 4, path)
            }
            guard fsync(fd) == 0 else { throw systemFailure(.writeFailed, path, "fsync") }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        // Outside the do block: a failed close must not be followed by a second close of a reused fd.
        guard close(fd) == 0 else {
            let failure = systemFailure(.writeFailed, path, "close")
            unlink(temporary)
            throw failure
        }
        guard rename(temporary, path) == 0 else {
            let failure = systemFailure(.writeFailed, path, "rename")
            unlink(temporary)
            throw failure
        }
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else { throw systemFailure(.writeFailed, path, "open directory") }
        defer { close(directoryFD) }
        guard fsync(directoryFD) == 0 else {
            throw systemFailure(.writeFailed, path, "fsync directory")
        }
    }

    /// Convenience for owned tensors (frozen ones included: writing only reads).
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
        try write(tensors.mapValues { $0.readView }, metadata: metadata, to: path)
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int, _ path: String) throws {
        var done = 0
        while done < count {
            let n = Glibc.write(fd, bytes + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw systemFailure(.writeFailed, path, "write")
            }
            done += n
        }
    }

    /// A JSON string literal (quotes, backslashes and control characters escaped; other UTF-8 as is).
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// The error for a failed system call, read from `errno` right after it.
    private static func systemFailure(_ code: SafetensorsError.Code, _ path: String, tensor: String? = nil,
                                      _ call: String) -> SafetensorsError {
        let number = errno
        return SafetensorsError(code, file: path, tensor: tensor, "\(call): \(String(cString: strerror(number)))",
                                systemError: number)
    }
}
