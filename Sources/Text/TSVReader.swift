import Foundation

/// Reads GLUE's raw tab-separated files: fields are split on tab only, with no quoting (a `"` is text, as QQP
/// needs), lines end at `\n` (a `\r` before it is dropped), and a leading UTF-8 BOM is ignored (MRPC dev has one).
/// Only the requested columns are decoded, so other columns may hold anything, even be empty.
/// A row with the wrong number of fields or bytes that are not UTF-8 is returned as skipped, never fatal.
enum TSVReader {
    struct Row {
        /// 1-based line number in the file (the header is line 1).
        let line: Int
        /// The requested columns, in the order requested.
        let fields: [String]
    }

    struct Contents {
        let rows: [Row]
        let skipped: [SkippedRow]
    }

    /// `headerlessFieldCount` is nil when the first line is a header (then every row must have as many fields
    /// as it), else the field count of every row of a file without header.
    static func read(_ url: URL, headerlessFieldCount: Int?, columns: [GLUEColumn]) throws -> Contents {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw TextError.missingFile(path: path) }
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: url))
        } catch {
            throw TextError.unreadableFile(path: path, reason: error.localizedDescription)
        }
        var lines = lineRanges(bytes)

        let fieldCount: Int
        let columnIndices: [Int]
        if let headerlessFieldCount {
            fieldCount = headerlessFieldCount
            columnIndices = columns.map { column -> Int in
                guard case let .position(index) = column, index < headerlessFieldCount else {
                    preconditionFailure("TSVReader: column \(column) cannot be read from a headerless file")
                }
                return index
            }
        } else {
            guard let headerRange = lines.first else { throw TextError.missingHeader(path: path) }
            lines.removeFirst()
            let header = fieldRanges(bytes, headerRange).map { String(decoding: bytes[$0], as: UTF8.self) }
            fieldCount = header.count
            columnIndices = try columns.map { column -> Int in
                switch column {
                case let .named(name):
                    guard let index = header.firstIndex(of: name) else {
                        throw TextError.missingColumn(path: path, column: name, header: header)
                    }
                    return index
                case let .position(index):
                    guard index < header.count else {
                        throw TextError.missingColumn(path: path, column: column.description, header: header)
                    }
                    return index
                }
            }
        }

        let firstLineNumber = headerlessFieldCount == nil ? 2 : 1
        var rows: [Row] = []
        rows.reserveCapacity(lines.count)
        var skipped: [SkippedRow] = []
        for (offset, range) in lines.enumerated() {
            let line = firstLineNumber + offset
            let fields = fieldRanges(bytes, range)
            guard fields.count == fieldCount else {
                skipped.append(SkippedRow(line: line, reason: .fieldCount(expected: fieldCount, found: fields.count)))
                continue
            }
            var values: [String] = []
            values.reserveCapacity(columnIndices.count)
            for index in columnIndices {
                guard let value = String(validating: bytes[fields[index]], as: UTF8.self) else { break }
                values.append(value)
            }
            guard values.count == columnIndices.count else {
                skipped.append(SkippedRow(line: line, reason: .invalidUTF8))
                continue
            }
            rows.append(Row(line: line, fields: values))
        }
        return Contents(rows: rows, skipped: skipped)
    }

    /// Byte ranges of the lines, without their `\n` or `\r\n`. The text after a final `\n` is not a line.
    private static func lineRanges(_ bytes: [UInt8]) -> [Range<Int>] {
        let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
        var start = bytes.starts(with: byteOrderMark) ? byteOrderMark.count : 0
        var ranges: [Range<Int>] = []
        var index = start
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") {
                ranges.append(start..<dropCarriageReturn(bytes, start, index))
                start = index + 1
            }
            index += 1
        }
        if start < bytes.count { ranges.append(start..<dropCarriageReturn(bytes, start, bytes.count)) }
        return ranges
    }

    private static func dropCarriageReturn(_ bytes: [UInt8], _ start: Int, _ end: Int) -> Int {
        end > start && bytes[end - 1] == UInt8(ascii: "\r") ? end - 1 : end
    }

    private static func fieldRanges(_ bytes: [UInt8], _ line: Range<Int>) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = line.lowerBound
        for index in line where bytes[index] == UInt8(ascii: "\t") {
            ranges.append(start..<index)
            start = index + 1
        }
        ranges.append(start..<line.upperBound)
        return ranges
    }
}
