import Foundation

/// Writes a folder's regular files as a POSIX ustar archive, one 512-byte header per file, its data padded to
/// 512 bytes, two zero blocks at the end. Data goes out in chunks as it is read, so no archive is built in memory.
struct TarWriter {
    static let block = 512
    /// ustar's name field; export file names are far shorter.
    static let maxNameBytes = 100

    /// `folder/<file>` for every file, in order; `write` receives the archive in pieces.
    static func archive(directory: String, files: [String], folder: String, modified: Date,
                        write: ([UInt8]) throws -> Void) throws {
        for file in files {
            let path = directory + "/" + file
            guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileReadNoSuchFile) }
            defer { try? handle.close() }
            let size = Int(try handle.seekToEnd())
            try handle.seek(toOffset: 0)
            try write(header(name: folder + "/" + file, size: size, modified: modified))
            var sent = 0
            while sent < size {
                guard let chunk = try handle.read(upToCount: 1 << 16), !chunk.isEmpty else { break }
                try write(Array(chunk))
                sent += chunk.count
            }
            guard sent == size else { throw CocoaError(.fileReadCorruptFile) }  // changed while being read
            let padding = (block - size % block) % block
            if padding > 0 { try write([UInt8](repeating: 0, count: padding)) }
        }
        try write([UInt8](repeating: 0, count: 2 * block))
    }

    /// The ustar header of a regular file, mode 0644, owned by uid/gid 0.
    static func header(name: String, size: Int, modified: Date) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: block)
        func put(_ text: String, at offset: Int, width: Int) {
            let bytes = Array(text.utf8.prefix(width))
            header.replaceSubrange(offset..<offset + bytes.count, with: bytes)
        }
        /// Octal, zero-padded to width − 1 digits, NUL-terminated.
        func octal(_ value: Int, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            put(String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits, at: offset, width: width - 1)
        }
        precondition(name.utf8.count <= maxNameBytes, "tar entry name \(name) is too long")
        put(name, at: 0, width: 100)
        octal(0o644, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(Int(modified.timeIntervalSince1970), at: 136, width: 12)
        header[156] = UInt8(ascii: "0")  // regular file
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        // The checksum counts its own field as eight spaces.
        put("        ", at: 148, width: 8)
        let sum = header.reduce(0) { $0 + Int($1) }
        let digits = String(sum, radix: 8)
        put(String(repeating: "0", count: max(0, 6 - digits.count)) + digits, at: 148, width: 6)
        header[154] = 0
        header[155] = UInt8(ascii: " ")
        return header
    }
}
