import Foundation

/// The uncased BERT tokenizer of HF `transformers` (the Python `BertTokenizer`, lower-casing, accents stripped,
/// CJK ideographs split), from a `vocab.txt`, with pair encoding and longest-first truncation.
///
/// As in HF, the special tokens `[CLS]`, `[SEP]`, `[PAD]`, `[UNK]`, `[MASK]` written literally in the input text
/// are kept as those tokens rather than split into `[`, `cls`, `]`.
public struct BertTokenizer: Sendable {
    public let vocabulary: Vocabulary
    public let clsId: Int
    public let sepId: Int
    public let padId: Int
    public let unknownId: Int

    /// Special tokens matched in the raw text, with their ids (HF splits them out before anything else).
    private let specialTokens: [(scalars: [Unicode.Scalar], id: Int)]
    private let basic: BasicTokenizer
    private let wordPiece: WordPieceTokenizer

    public static let specialTokenNames = ["[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"]

    public init(vocabularyURL: URL) throws {
        try self.init(vocabulary: Vocabulary(contentsOf: vocabularyURL), path: vocabularyURL.path)
    }

    /// `path` names the vocabulary's origin in errors.
    public init(vocabulary: Vocabulary, path: String = "vocabulary") throws {
        func requiredId(_ token: String) throws -> Int {
            guard let id = vocabulary.id(of: token) else {
                throw TextError.missingVocabularyToken(path: path, token: token)
            }
            return id
        }
        self.vocabulary = vocabulary
        clsId = try requiredId("[CLS]")
        sepId = try requiredId("[SEP]")
        padId = try requiredId("[PAD]")
        unknownId = try requiredId("[UNK]")
        // `[MASK]` is optional (GLUE never uses it). Without it in the vocabulary it is plain text here, where HF
        // would append it to the vocabulary as a new token.
        specialTokens = Self.specialTokenNames.compactMap { name in
            vocabulary.id(of: name).map { (Array(name.unicodeScalars), $0) }
        }
        basic = BasicTokenizer(neverSplit: specialTokens.map(\.scalars))
        wordPiece = WordPieceTokenizer(vocabulary: vocabulary, unknownId: unknownId)
    }

    /// The token ids of `text`, without `[CLS]`/`[SEP]` (HF `tokenizer.encode(text, add_special_tokens=False)`).
    public func tokenIds(_ text: String) -> [Int] {
        let scalars = Array(text.unicodeScalars)
        var ids: [Int] = []
        ids.reserveCapacity(scalars.count / 3)
        var segmentStart = 0
        var position = 0
        while position < scalars.count {
            guard scalars[position] == "[", let special = specialToken(in: scalars, at: position) else {
                position += 1
                continue
            }
            appendWordIds(scalars[segmentStart..<position], to: &ids)
            ids.append(special.id)
            position += special.scalars.count
            segmentStart = position
        }
        appendWordIds(scalars[segmentStart...], to: &ids)
        return ids
    }

    /// `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`, truncated to at most `maxLength` tokens when given.
    ///
    /// Truncation is HF's `longest_first`: tokens are removed from the end of the longer text one at a time,
    /// from the second text when both are equally long. `maxLength` must leave room for the special tokens
    /// (2 for one text, 3 for a pair).
    public func encode(_ text: String, _ pair: String? = nil, maxLength: Int? = nil) -> Encoding {
        var first = tokenIds(text)
        var second = pair.map(tokenIds)
        if let maxLength {
            let specialCount = second == nil ? 2 : 3
            precondition(maxLength >= specialCount,
                         "BertTokenizer.encode: maxLength \(maxLength) leaves no room for \(specialCount) special tokens")
            let excess = first.count + (second?.count ?? 0) + specialCount - maxLength
            if excess > 0 {
                let (removeFirst, removeSecond) = Self.longestFirstRemovals(
                    firstCount: first.count, secondCount: second?.count, excess: excess)
                first.removeLast(removeFirst)
                second?.removeLast(removeSecond)
            }
        }
        var ids = [clsId] + first + [sepId]
        var typeIds = [Int](repeating: 0, count: ids.count)
        if let second {
            ids += second + [sepId]
            typeIds += repeatElement(1, count: second.count + 1)
        }
        return Encoding(ids: ids, typeIds: typeIds, attentionMask: [Int](repeating: 1, count: ids.count))
    }

    /// `encoding` padded on the right to `length` with `[PAD]`.
    public func pad(_ encoding: Encoding, to length: Int) -> Encoding {
        encoding.padded(to: length, padId: padId)
    }

    /// How many tokens longest-first takes from each text: first from the longer one until both are equally
    /// long, then alternately starting with the second, so the second gives up the odd token.
    static func longestFirstRemovals(firstCount: Int, secondCount: Int?, excess: Int) -> (first: Int, second: Int) {
        guard let secondCount else { return (excess, 0) }
        let levelling = min(abs(firstCount - secondCount), excess)
        let shared = excess - levelling
        if firstCount > secondCount {
            return (levelling + shared / 2, shared - shared / 2)
        }
        return (shared / 2, levelling + shared - shared / 2)
    }

    private func specialToken(in scalars: [Unicode.Scalar], at position: Int) -> (scalars: [Unicode.Scalar], id: Int)? {
        specialTokens.first { token in
            position + token.scalars.count <= scalars.count
                && scalars[position..<(position + token.scalars.count)].elementsEqual(token.scalars)
        }
    }

    private func appendWordIds(_ text: ArraySlice<Unicode.Scalar>, to ids: inout [Int]) {
        guard !text.isEmpty else { return }
        for word in basic.words(text) {
            wordPiece.appendIds(of: word, to: &ids)
        }
    }
}
