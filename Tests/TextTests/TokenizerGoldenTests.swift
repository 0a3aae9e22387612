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

/// Lower-casing of capital sigma against CPython's `str.lower()` (`Golden/final_sigma_golden.json`, written by
/// `Tests/Scripts/text_golden.py`): every code point assigned in the reference Unicode version is probed next to
/// a sigma exactly as the script probed it, so each one the Swift side skips or counts as cased differently shows.
final class FinalSigmaGoldenTests: XCTestCase {
    private struct GoldenFile: Decodable {
        let unicode: String
        let case_ignorable: [[UInt32]]
        let cased: [[UInt32]]
    }

    private enum Context: Equatable { case ignorable, cased, other }

    /// The probes of the script: "Α c Σ" and "Α Σ c" both end in a final sigma only when c is skipped; otherwise
    /// "c Σ" does only when c is cased.
    private func context(_ scalar: Unicode.Scalar) -> Context {
        let (alpha, sigma): (Unicode.Scalar, Unicode.Scalar) = ("\u{391}", "\u{3A3}")
        let skipped = BasicTokenizer.lowercased([alpha, scalar, sigma]).last == "\u{3C2}"
            && BasicTokenizer.lowercased([alpha, sigma, scalar])[1] == "\u{3C2}"
        if skipped { return .ignorable }
        return BasicTokenizer.lowercased([scalar, sigma]).last == "\u{3C2}" ? .cased : .other
    }

    func testEveryAssignedCodePointIsSkippedOrCasedAsCPythonDoes() throws {
        let golden = try Golden.decode(GoldenFile.self, from: "final_sigma_golden.json")
        XCTAssertEqual(golden.unicode, "14.0.0", "the tokenizer's reference Unicode version")
        var expected: [UInt32: Context] = [:]
        for range in golden.case_ignorable { for value in range[0]...range[1] { expected[value] = .ignorable } }
        for range in golden.cased { for value in range[0]...range[1] { expected[value] = .cased } }
        var mismatches: [String] = []
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value), let age = scalar.properties.age, age <= (14, 0) else { continue }
            // Probing all is slow in a debug build; one that neither CPython nor Swift marks cased or
            // case-ignorable is `other` on both sides.
            let flagged = scalar.properties.isCased || scalar.properties.isCaseIgnorable
            guard flagged || expected[value] != nil else { continue }
            let got = context(scalar)
            if got != expected[value, default: .other] {
                mismatches.append(String(format: "U+%04X: %@, CPython %@", value, "\(got)", "\(expected[value, default: .other])"))
            }
        }
        XCTAssertEqual(mismatches, [], "\(mismatches.count) code points differ")
    }
}
