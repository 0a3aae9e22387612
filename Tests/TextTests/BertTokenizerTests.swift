import XCTest
@testable import Text
import TestSupport

/// Rules of the tokenizer that the golden file only covers by example.
final class BertTokenizerTests: XCTestCase {
    private func tinyTokenizer(_ extra: [String]) throws -> BertTokenizer {
        try BertTokenizer(vocabulary: Vocabulary(tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + extra))
    }

    /// HF's original longest-first loop (transformers 4): drop one token from the longer text, the second on ties.
    private func referenceRemovals(_ first: Int, _ second: Int, _ excess: Int) -> (Int, Int) {
        var (first, second, removedFirst, removedSecond) = (first, second, 0, 0)
        for _ in 0..<excess {
            if first > second {
                first -= 1
                removedFirst += 1
            } else {
                second -= 1
                removedSecond += 1
            }
        }
        return (removedFirst, removedSecond)
    }

    func testLongestFirstRemovalsEqualTheOneAtATimeLoop() {
        for first in 0...12 {
            for second in 0...12 where first + second > 0 {
                for excess in 1...(first + second) {
                    let removals = BertTokenizer.longestFirstRemovals(firstCount: first, secondCount: second, excess: excess)
                    let expected = referenceRemovals(first, second, excess)
                    XCTAssertTrue(removals == expected, "\(first), \(second), excess \(excess): \(removals) vs \(expected)")
                }
            }
        }
    }

    func testPairEncodingTruncationTypeIdsAndPadding() throws {
        let tokenizer = try tinyTokenizer(["a", "b", "c", "d", "e"])
        let ids = { (tokens: String) in tokens.split(separator: " ").map { tokenizer.vocabulary.id(of: String($0))! } }
        let full = tokenizer.encode("a b c d", "e e")
        XCTAssertEqual(full.ids, ids("[CLS] a b c d [SEP] e e [SEP]"))
        XCTAssertEqual(full.typeIds, [0, 0, 0, 0, 0, 0, 1, 1, 1])

        let truncated = tokenizer.encode("a b c d", "e e", maxLength: 7)
        XCTAssertEqual(truncated.ids, ids("[CLS] a b [SEP] e e [SEP]"))
        XCTAssertEqual(truncated.typeIds, [0, 0, 0, 0, 1, 1, 1])

        let single = tokenizer.encode("a b c d", maxLength: 4)
        XCTAssertEqual(single.ids, ids("[CLS] a b [SEP]"))

        let padded = tokenizer.pad(truncated, to: 10)
        XCTAssertEqual(padded.ids, ids("[CLS] a b [SEP] e e [SEP] [PAD] [PAD] [PAD]"))
        XCTAssertEqual(padded.typeIds, [0, 0, 0, 0, 1, 1, 1, 0, 0, 0])
        XCTAssertEqual(padded.attentionMask, [1, 1, 1, 1, 1, 1, 1, 0, 0, 0])
    }

    func testWordPieceIsGreedyLongestMatchAndUnknownAsAWhole() throws {
        let tokenizer = try tinyTokenizer(["un", "##aff", "##able", "una", "##ff"])
        let tokens = { (text: String) in tokenizer.tokenIds(text).map { tokenizer.vocabulary.tokens[$0] } }
        XCTAssertEqual(tokens("unaffable"), ["una", "##ff", "##able"])
        XCTAssertEqual(tokens("unaffablex"), ["[UNK]"])
        XCTAssertEqual(tokens(String(repeating: "un", count: 51)), ["[UNK]"], "over 100 characters")
    }

    func testVocabularyLookupComparesScalarsNotCanonicalEquivalence() throws {
        // "கொ" with the precomposed vowel sign U+0BCA: NFD splits it into U+0BC6 U+0BBE (spacing marks, kept), which
        // Swift's String == would still call equal. HF compares code points, so the word is unknown.
        let tokenizer = try tinyTokenizer(["\u{0B95}\u{0BCA}"])
        XCTAssertEqual(tokenizer.tokenIds("\u{0B95}\u{0BCA}"), [tokenizer.unknownId])
    }

    func testContinuationTokensAreFoundWhenTheirFirstScalarIsAMark() throws {
        // In "##ि" the mark joins the second "#" into one Character; the "##" prefix must be read on scalars.
        let tokenizer = try tinyTokenizer(["न", "##\u{93F}"])
        XCTAssertEqual(tokenizer.tokenIds("न\u{93F}"), [4, 5])
    }

    func testLiteralSpecialTokensInTheTextStayWhole() throws {
        let tokenizer = try tinyTokenizer(["a", "b", "[", "]", "sep"])
        XCTAssertEqual(tokenizer.tokenIds("a[SEP]b"), [4, tokenizer.sepId, 5])
        XCTAssertEqual(tokenizer.tokenIds("a[sep]b"), [4, 6, 8, 7, 5])
    }

    func testVocabularyFileRules() throws {
        let directory = try makeTemporaryDirectory("TextTests")
        // A repeated token keeps its last id; lines end as in Python's text mode (HF's load_vocab): "\r\n" and a
        // lone "\r" end a line too, and no "\r" stays in a token.
        let url = try directory.write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nx\r\nx\ny\rz \n")
        let vocabulary = try Vocabulary(contentsOf: url)
        XCTAssertEqual(vocabulary.count, 8)
        XCTAssertEqual(vocabulary.id(of: "x"), 5)
        XCTAssertNil(vocabulary.id(of: "x\r"))
        XCTAssertEqual(vocabulary.id(of: "y"), 6)
        XCTAssertEqual(vocabulary.id(of: "z "), 7, "other white space stays part of the token")

        let incomplete = try directory.write("incomplete.txt", "[PAD]\n[UNK]\n[SEP]\n")
        XCTAssertThrowsError(try BertTokenizer(vocabularyURL: incomplete)) {
            XCTAssertEqual($0 as? TextError, .missingVocabularyToken(path: incomplete.path, token: "[CLS]"))
        }
        let missing = directory.url.appendingPathComponent("absent.txt")
        XCTAssertThrowsError(try Vocabulary(contentsOf: missing)) {
            XCTAssertEqual($0 as? TextError, .missingFile(path: missing.path))
            XCTAssertEqual("\($0)", "no such file: \(missing.path)")
        }
    }
}
