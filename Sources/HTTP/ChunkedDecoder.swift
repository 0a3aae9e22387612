/// Strict decoder of a chunked request body (RFC 9112 §7.1): hex sizes without sign, prefix or whitespace,
/// at most 16 digits, CRLF everywhere, chunk extensions skipped, trailers checked and ignored.
struct ChunkedDecoder {
    private enum State {
        case sizeLine
        case data(remaining: Int)
        case dataCR
        case dataLF
        case trailers
        case done
    }

    /// The longest chunk-size line we accept, extensions included.
    static let maxSizeLineBytes = 1024

    private var state = State.sizeLine
    private var line: [UInt8] = []
    private var trailerBytes = 0
    private var decodedBytes = 0
    private let maxBodyBytes: Int
    private let maxTrailerBytes: Int

    init(maxBodyBytes: Int, maxTrailerBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
        self.maxTrailerBytes = maxTrailerBytes
    }

    var isDone: Bool { if case .done = state { return true } else { return false } }

    /// Consumes bytes from `input[start..<end]`, appending decoded data to `body`. Returns the bytes consumed;
    /// stops right after the final CRLF so pipelined requests stay in the buffer.
    mutating func decode(_ input: UnsafeBufferPointer<UInt8>, into body: inout [UInt8]) throws(ParseError) -> Int {
        var index = 0
        while index < input.count {
            switch state {
            case .done:
                return index
            case .data(let remaining):
                let take = min(remaining, input.count - index)
                body.append(contentsOf: UnsafeBufferPointer(rebasing: input[index..<(index + take)]))
                index += take
                state = remaining == take ? .dataCR : .data(remaining: remaining - take)
            case .dataCR:
                guard input[index] == ASCII.cr else { throw .missingChunkTerminator }
                index += 1
                state = .dataLF
            case .dataLF:
                guard input[index] == ASCII.lf else { throw .missingChunkTerminator }
                index += 1
                state = .sizeLine
            case .sizeLine, .trailers:
                let byte = input[index]
                index += 1
                if byte == ASCII.lf {
                    guard line.last == ASCII.cr else { throw .invalidChunkSize }
                    line.removeLast()
                    try finishLine()
                    line.removeAll(keepingCapacity: true)
                } else {
                    // A CR must be followed by LF; a bare CR inside a line is a smuggling vector.
                    if line.last == ASCII.cr { throw .invalidChunkExtension }
                    line.append(byte)
                    if case .trailers = state {
                        trailerBytes += 1
                        if trailerBytes > maxTrailerBytes { throw .trailerSectionTooLarge }
                    } else if line.count > Self.maxSizeLineBytes {
                        throw .invalidChunkSize
                    }
                }
            }
        }
        return index
    }

    private mutating func finishLine() throws(ParseError) {
        if case .trailers = state {
            if line.isEmpty { state = .done; return }
            try Self.validateTrailer(line)
            return
        }
        var size = 0
        var digits = 0
        var position = 0
        while position < line.count, let value = ASCII.hexValue(line[position]) {
            digits += 1
            guard digits <= 16 else { throw .invalidChunkSize }
            let (shifted, overflow) = size.multipliedReportingOverflow(by: 16)
            guard !overflow else { throw .invalidChunkSize }
            size = shifted + Int(value)
            position += 1
        }
        guard digits > 0 else { throw .invalidChunkSize }
        if position < line.count {
            // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ): skipped, but must be printable.
            guard line[position] == UInt8(ascii: ";") || ASCII.isWhitespace(line[position]) else { throw .invalidChunkSize }
            let extensions = line[position...]
            guard extensions.contains(UInt8(ascii: ";")), extensions.allSatisfy(ASCII.isFieldValueChar) else {
                throw .invalidChunkExtension
            }
        }
        if size == 0 {
            state = .trailers
            return
        }
        guard size <= maxBodyBytes - decodedBytes else { throw .bodyTooLarge }
        decodedBytes += size
        state = .data(remaining: size)
    }

    private static func validateTrailer(_ line: [UInt8]) throws(ParseError) {
        guard let colon = line.firstIndex(of: ASCII.colon), colon > 0 else { throw .invalidHeaderName }
        guard line[..<colon].allSatisfy(ASCII.isTokenChar) else { throw .invalidHeaderName }
        guard line[(colon + 1)...].allSatisfy(ASCII.isFieldValueChar) else { throw .invalidHeaderValue }
    }
}
