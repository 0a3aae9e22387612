import XCTest
@testable import Service

final class JSONParserTests: XCTestCase {
    private func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    private func assertRejected(_ bytes: [UInt8], at offset: Int? = nil, _ reason: String? = nil,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try JSONParser.parse(bytes), file: file, line: line) { error in
            guard let error = error as? JSONParseError else { return XCTFail("\(error)", file: file, line: line) }
            if let offset { XCTAssertEqual(error.offset, offset, "\(error)", file: file, line: line) }
            if let reason { XCTAssertTrue(error.reason.contains(reason), "\(error)", file: file, line: line) }
        }
    }

    func testParsesASweepSpec() throws {
        let value = try parse(#"{"tasks": ["rte", "sst2"], "k": [100, "all"], "seeds": [1,2], "dry_run": false, "x": null, "lr": -2.5e-4}"#)
        XCTAssertEqual(value["tasks"], .array([.string("rte"), .string("sst2")]))
        XCTAssertEqual(value["k"], .array([.number(100), .string("all")]))
        XCTAssertEqual(value["dry_run"], .bool(false))
        XCTAssertEqual(value["x"], .null)
        XCTAssertEqual(value["lr"], .number(-2.5e-4))
        guard case let .object(members) = value else { return XCTFail() }
        XCTAssertEqual(members.map(\.key), ["tasks", "k", "seeds", "dry_run", "x", "lr"], "document order kept")
    }

    func testStringsEscapesAndUnicode() throws {
        XCTAssertEqual(try parse(#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00""#), .string("a\"b\\c/d\n\té😀"))
        XCTAssertEqual(try parse("\"é中😀\""), .string("é中😀"))
    }

    /// Invalid, truncated, deeply nested, out-of-range, NaN, duplicate-key and non-UTF-8 bodies: each is a 400
    /// `invalid_json` with an offset, never a crash.
    func testRejectsHostileAndMalformedBodies() {
        assertRejected(Array(#"{"tasks": ["rte""#.utf8), at: 16, "expected ',' or ']'")
        assertRejected(Array(#"{"a": 1,}"#.utf8), at: 8, "expected a string key")
        assertRejected(Array("[1e400]".utf8), at: 1, "out of range")
        assertRejected(Array("[-1e400]".utf8), at: 1, "out of range")
        assertRejected(Array("[NaN]".utf8), at: 1)
        assertRejected(Array("[Infinity]".utf8), at: 1)
        assertRejected(Array(#"{"k": 1, "k": 2}"#.utf8), at: 9, "duplicate key")
        assertRejected([0x22, 0xC3, 0x28, 0x22], at: 1, "invalid UTF-8")
        assertRejected([0x22, 0xC0, 0xAF, 0x22], at: 1, "invalid UTF-8")          // overlong '/'
        assertRejected([0x22, 0xED, 0xA0, 0x80, 0x22], at: 1, "invalid UTF-8")    // encoded surrogate
        assertRejected([0x22, 0xF0, 0x9F, 0x98], at: 1, "invalid UTF-8")          // truncated
        assertRejected(Array(#""\ud83d""#.utf8), "unpaired surrogate")
        assertRejected(Array("\"a\u{01}\"".utf8), at: 2, "control character")
        assertRejected(Array("".utf8), at: 0, "unexpected end")
        assertRejected(Array("{} {}".utf8), at: 3, "after the document")
        assertRejected(Array("[01]".utf8), at: 2)
        assertRejected(Array("[1.]".utf8), at: 3)
        assertRejected(Array("[.5]".utf8), at: 1)
        assertRejected(Array("// c\n{}".utf8), at: 0)
        assertRejected(Array("[tru]".utf8), at: 4, "invalid literal")
    }

    func testDeepNestingIsBoundedNotACrash() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        assertRejected(Array(deep.utf8), at: JSONParser.defaultMaxDepth, "nesting deeper")
        let objects = String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000)
        assertRejected(Array(objects.utf8), "nesting deeper")
        XCTAssertNoThrow(try JSONParser.parse(Array((String(repeating: "[", count: 64) + String(repeating: "]", count: 64)).utf8)))
    }

    /// Valid documents parse to what Foundation's parser reads from them.
    func testAgreesWithFoundationOnValidDocuments() throws {
        let documents = [
            #"{"a": [1, 2.5, -0.125, 1e3, 1E-3, 0, -0], "b": {"c": true, "d": false, "e": null}, "f": "x\u0041"}"#,
            #"[[], {}, [{}], "", " \t "]"#,
            "123456789012",
            #"{"name": "glue-k-shot-v1", "metadata": {"owner": "ab"}, "max_concurrency": 2}"#,
        ]
        for document in documents {
            let foundation = try JSONSerialization.jsonObject(with: Data(document.utf8), options: [.fragmentsAllowed])
            XCTAssertTrue(Self.matches(try parse(document), foundation), document)
        }
    }

    /// Compares guided by our value's type: Foundation reports booleans and numbers both as NSNumber.
    private static func matches(_ ours: JSONValue, _ theirs: Any) -> Bool {
        switch ours {
        case .null: return theirs is NSNull
        case let .bool(value): return (theirs as? NSNumber)?.boolValue == value
        case let .number(value): return (theirs as? NSNumber)?.doubleValue == value
        case let .string(value): return theirs as? String == value
        case let .array(values):
            guard let array = theirs as? [Any], array.count == values.count else { return false }
            return zip(values, array).allSatisfy { matches($0, $1) }
        case let .object(members):
            guard let dictionary = theirs as? [String: Any], dictionary.count == members.count else { return false }
            return members.allSatisfy { member in dictionary[member.key].map { matches(member.value, $0) } ?? false }
        }
    }
}
