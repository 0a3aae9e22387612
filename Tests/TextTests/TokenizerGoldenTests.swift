import XCTest
@testable import Text

/// The Swift tokenizer against HF's Python BertTokenizer on every case of `Golden/tokenizer_golden.json`
/// (written by `Tests/Scripts/text_golden.py`): GLUE sentences of all 8 tasks and hard cases, single and pair,
/// with and without truncation.
final class TokenizerGoldenTests: XCTestCase {
    private struct GoldenCase: Decodable {
        let name: String
        let text: String
        let pair: String?
        let max_length: Int?
        let ids: [Int]
        let type_ids: [Int]
    }

    private struct GoldenFile: Decodable {
        let cases: [GoldenCase]
    }

    func testEveryGoldenEncodingMatchesHF() throws {
        let tokenizer = try Golden.loadTokenizer()
        let golden = try Golden.decode(GoldenFile.self, from: "tokenizer_golden.json")
        XCTAssertGreaterThan(golden.cases.count, 500, "the golden file should hold several hundred cases")
        var mismatches: [String] = []
        for testCase in golden.cases {
            let encoding = tokenizer.encode(testCase.text, testCase.pair, maxLength: testCase.max_length)
            if encoding.ids != testCase.ids || encoding.typeIds != testCase.type_ids {
                mismatches.append("\(testCase.name): got \(encoding.ids) \(encoding.typeIds), "
                    + "HF \(testCase.ids) \(testCase.type_ids)")
            }
            XCTAssertEqual(encoding.attentionMask, [Int](repeating: 1, count: encoding.count), testCase.name)
        }
        XCTAssertEqual(mismatches.count, 0, "\(mismatches.count) of \(golden.cases.count) differ:\n"
            + mismatches.prefix(20).joined(separator: "\n"))
    }
}
