/// Strict percent-decoding (RFC 3986 §2.1). A path is split on `/` before decoding, so `%2F` can never act as
/// a separator; segments that decode to `.`, `..`, or contain `/`, `\` or NUL are refused outright, so path
/// traversal never reaches a handler.
enum PercentDecoding {
    static func pathSegments(_ path: String) throws(HTTPError) -> [String] {
        var segments: [String] = []
        for raw in path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst() {
            let segment = try decode(raw, plusIsSpace: false)
            guard segment != ".", segment != "..", !segment.contains("/"), !segment.contains("\\") else {
                throw HTTPError.badRequest("path segment not allowed")
            }
            segments.append(segment)
        }
        return segments
    }

    static func decodeQueryComponent(_ component: Substring) throws(HTTPError) -> String {
        try decode(component.utf8, plusIsSpace: true)
    }

    /// Decodes `%XX` escapes; a malformed escape, a NUL byte or invalid UTF-8 is a 400.
    static func decode<Bytes: Collection>(_ bytes: Bytes, plusIsSpace: Bool) throws(HTTPError) -> String
    where Bytes.Element == UInt8 {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index != bytes.endIndex {
            var byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                let first = bytes.index(after: index)
                guard first != bytes.endIndex, let high = ASCII.hexValue(bytes[first]) else { throw malformed }
                let second = bytes.index(after: first)
                guard second != bytes.endIndex, let low = ASCII.hexValue(bytes[second]) else { throw malformed }
                byte = high << 4 | low
                index = second
            } else if byte == UInt8(ascii: "+"), plusIsSpace {
                byte = ASCII.space
            }
            guard byte != 0 else { throw malformed }
            output.append(byte)
            index = bytes.index(after: index)
        }
        guard let string = String(validating: output, as: UTF8.self) else { throw malformed }
        return string
    }

    private static var malformed: HTTPError { .badRequest("malformed percent-encoding in the request target") }
}
