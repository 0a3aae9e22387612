import Foundation

/// A WordPiece vocabulary as HF loads `vocab.txt`: one token per line, the id is the 0-based line number, and a
/// token listed twice keeps its last id.
public struct Vocabulary: Sendable {
    /// Tokens by id.
    public let tokens: [String]
    /// Ids of whole tokens (the start of a word; also `[CLS]`-style tokens and `##` entries as written).
    let wordStartIds: [ExactText: Int]
    /// Ids of `##`-continuation tokens, keyed without the `##`.
    let continuationIds: [ExactText: Int]
    /// Longest key of each table in Unicode scalars; WordPiece never needs to try a longer candidate.
    let longestWordStart: Int
    let longestContinuation: Int

    public init(tokens: [String]) {
        var wordStart = [ExactText: Int](minimumCapacity: tokens.count)
        var continuation = [ExactText: Int](minimumCapacity: tokens.count)
        var longestWordStart = 0
        var longestContinuation = 0
        for (id, token) in tokens.enumerated() {
            wordStart[ExactText(token)] = id
            longestWordStart = max(longestWordStart, token.unicodeScalars.count)
            // On scalars: `hasPrefix` compares Characters, and in "##ि" the mark joins the second "#".
            if token.unicodeScalars.starts(with: "##".unicodeScalars) {
                let rest = String(token.unicodeScalars.dropFirst(2))
                continuation[ExactText(rest)] = id
                longestContinuation = max(longestContinuation, rest.unicodeScalars.count)
            }
        }
        self.tokens = tokens
        self.wordStartIds = wordStart
        self.continuationIds = continuation
        self.longestWordStart = longestWordStart
        self.longestContinuation = longestContinuation
    }

    /// Reads a `vocab.txt`: one token per line, as HF's `load_vocab` reads it: a text-mode file, whose universal
    /// newlines end a line at `\n`, `\r\n` or a lone `\r`; other white space stays part of the token.
    public init(contentsOf url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { throw TextError.missingFile(path: url.path) }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TextError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        var tokens: [String] = []
        var text: [UInt8] = []
        text.reserveCapacity(data.count)
        var afterCarriageReturn = false
        for byte in data {
            if byte == UInt8(ascii: "\r") {
                text.append(UInt8(ascii: "\n"))
            } else if !(byte == UInt8(ascii: "\n") && afterCarriageReturn) {
                text.append(byte)
            }
            afterCarriageReturn = byte == UInt8(ascii: "\r")
        }
        var lines = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        tokens.reserveCapacity(lines.count)
        for (index, line) in lines.enumerated() {
            guard let token = String(validating: line, as: UTF8.self) else {
                throw TextError.invalidVocabularyLine(path: url.path, line: index + 1)
            }
            tokens.append(token)
        }
        self.init(tokens: tokens)
    }

    public var count: Int { tokens.count }

    /// The id of a whole token, compared scalar by scalar.
    public func id(of token: String) -> Int? {
        wordStartIds[ExactText(token)]
    }
}

/// A string key compared by its exact scalars. Swift's `String` equality is canonical equivalence
/// ("é" == "e\u{301}"), while Python compares code points; a vocabulary lookup must do the latter.
struct ExactText: Hashable, Sendable {
    let text: String

    init(_ text: String) {
        self.text = text
    }

    init<S: Sequence>(scalars: S) where S.Element == Unicode.Scalar {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        self.text = String(view)
    }

    static func == (lhs: ExactText, rhs: ExactText) -> Bool {
        lhs.text.utf8.elementsEqual(rhs.text.utf8)
    }

    func hash(into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
