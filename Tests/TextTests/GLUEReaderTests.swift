import XCTest
@testable import Text
import TestSupport

/// The task table and the TSV readers, on the committed GLUE-layout fixture and on hand-made malformed files.
final class GLUEReaderTests: XCTestCase {
    func testFixtureLoadsEveryTaskAndEveryExampleIsItsRowsColumns() throws {
        for task in GLUETask.allCases {
            let dataset = try GLUEDataset.load(task: task, glueDirectory: Golden.glueFixture)
            for file in [dataset.train, dataset.validation] {
                XCTAssertEqual(file.skipped, [], file.path)
                XCTAssertGreaterThanOrEqual(file.examples.count, 20, file.path)
                try assertExamplesMatchRawRows(task: task, file: file)
            }
        }
    }

    /// Re-reads each example's line with a plain split and checks text, pair and label came from the task's columns.
    private func assertExamplesMatchRawRows(task: GLUETask, file: GLUEFileData) throws {
        var lines = try String(contentsOfFile: file.path, encoding: .utf8).components(separatedBy: "\n")
        lines[0] = String(lines[0].drop { $0 == "\u{FEFF}" })
        let header = task.headerlessFieldCount == nil ? lines[0].components(separatedBy: "\t") : nil
        func index(_ column: GLUEColumn) -> Int {
            switch column {
            case let .named(name): return header?.firstIndex(of: name) ?? -1
            case let .position(position): return position
            }
        }
        for example in file.examples {
            let fields = lines[example.line - 1].components(separatedBy: "\t")
            XCTAssertEqual(example.text, fields[index(task.textColumns[0])], "\(file.path):\(example.line)")
            XCTAssertEqual(example.pair, task.textColumns.count == 2 ? fields[index(task.textColumns[1])] : nil)
            let rawLabel = fields[index(task.labelColumn)]
            switch (task.labelKind, example.label) {
            case let (.categories(fileValues, _), .category(label)):
                XCTAssertEqual(fileValues[label], rawLabel)
            case let (.score(range), .score(score)):
                XCTAssertEqual(score, Double(rawLabel))
                XCTAssertTrue(range.contains(score))
            default:
                XCTFail("\(task): label \(example.label) does not fit \(task.labelKind)")
            }
        }
    }

    func testMalformedRowsAreSkippedWithTheirLineAndReason() throws {
        let directory = try makeTemporaryDirectory("TextTests")
        var bytes = Array("index\tsentence1\tsentence2\tlabel\n".utf8)
        bytes += Array("0\tA \"quoted \"\"text\".\tB\tentailment\n".utf8)           // line 2: quotes are text
        bytes += Array("1\tonly three\tfields\n".utf8)                               // line 3
        bytes += Array("2\ttoo\tmany\tentailment\textra\n".utf8)                     // line 4
        bytes += Array("3\tno\tlabel\t\n".utf8)                                      // line 5
        bytes += Array("4\tbad\tlabel\tmaybe\n".utf8)                                // line 6
        bytes += Array("5\tpadded\tlabel\tentailment \n".utf8)                       // line 7
        bytes += Array("6\twindows\tline\tnot_entailment\r\n".utf8)                  // line 8
        bytes += Array("7\tbroken ".utf8) + [0xFF, 0xFE] + Array("\tutf8\tentailment\n".utf8)  // line 9
        bytes += Array("\n".utf8)                                                    // line 10: blank
        bytes += Array("8\t\t\tnot_entailment".utf8)                                 // line 11: no final newline
        try directory.write("RTE/train.tsv", bytes)

        let file = try GLUEDataset.read(task: .rte, split: .train, glueDirectory: directory.url)
        XCTAssertEqual(file.examples, [
            GLUEExample(text: "A \"quoted \"\"text\".", pair: "B", label: .category(0), line: 2),
            GLUEExample(text: "windows", pair: "line", label: .category(1), line: 8),
            GLUEExample(text: "", pair: "", label: .category(1), line: 11),
        ])
        XCTAssertEqual(file.skipped, [
            SkippedRow(line: 3, reason: .fieldCount(expected: 4, found: 3)),
            SkippedRow(line: 4, reason: .fieldCount(expected: 4, found: 5)),
            SkippedRow(line: 5, reason: .missingLabel),
            SkippedRow(line: 6, reason: .unparsableLabel("maybe")),
            SkippedRow(line: 7, reason: .unparsableLabel("entailment ")),
            SkippedRow(line: 9, reason: .invalidUTF8),
            SkippedRow(line: 10, reason: .fieldCount(expected: 4, found: 1)),
        ])
    }

    func testOnlyTheTextAndLabelColumnsAreRead() throws {
        let directory = try makeTemporaryDirectory("TextTests")
        // QQP dev as reconstructed in ../shared/glue: empty id columns, and bytes that are not UTF-8 in one of them.
        let qqp = Array("id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n\t\t\tWhy?\tHow?\t1\n".utf8)
            + [0xFF] + Array("\t\t\tA?\tB?\t0\n".utf8)
        try directory.write("QQP/dev.tsv", qqp)
        let file = try GLUEDataset.read(task: .qqp, split: .validation, glueDirectory: directory.url)
        XCTAssertEqual(file.examples.map(\.label), [.category(1), .category(0)])
        XCTAssertEqual(file.examples.map(\.pair), ["How?", "B?"])
        XCTAssertEqual(file.skipped, [])
    }

    func testByteOrderMarkBeforeTheHeaderIsIgnored() throws {
        let directory = try makeTemporaryDirectory("TextTests")
        let mrpc = [0xEF, 0xBB, 0xBF] + Array("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tA\tB\n".utf8)
        try directory.write("MRPC/dev.tsv", mrpc)
        let file = try GLUEDataset.read(task: .mrpc, split: .validation, glueDirectory: directory.url)
        XCTAssertEqual(file.examples, [GLUEExample(text: "A", pair: "B", label: .category(1), line: 2)])
    }

    func testCoLAIsHeaderlessAndReadByPosition() throws {
        let directory = try makeTemporaryDirectory("TextTests")
        try directory.write("CoLA/dev.tsv", "gj04\t1\t\tThe sailors rode the breeze.\nclc95\t0\t*\tThe more books.\n")
        let file = try GLUEDataset.read(task: .cola, split: .validation, glueDirectory: directory.url)
        XCTAssertEqual(file.examples, [
            GLUEExample(text: "The sailors rode the breeze.", pair: nil, label: .category(1), line: 1),
            GLUEExample(text: "The more books.", pair: nil, label: .category(0), line: 2),
        ])
    }

    func testSTSBScoresMustBeNumbersFromZeroToFive() throws {
        let directory = try makeTemporaryDirectory("TextTests")
        let header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
        let scores = ["5.000", "0", "2.5", "5.2", "-0.1", "nan", "inf", "abc", ""]
        let rows = scores.enumerated().map { "\($0.offset)\tg\tf\ty\to\ts1\ts2\ta\tb\t\($0.element)\n" }
        try directory.write("STS-B/train.tsv", header + rows.joined())
        let file = try GLUEDataset.read(task: .stsb, split: .train, glueDirectory: directory.url)
        XCTAssertEqual(file.examples.map(\.label), [.score(5), .score(0), .score(2.5)])
        XCTAssertEqual(file.skipped.map(\.reason), [.unparsableLabel("5.2"), .unparsableLabel("-0.1"),
                                                   .unparsableLabel("nan"), .unparsableLabel("inf"),
                                                   .unparsableLabel("abc"), .missingLabel])
    }

    func testMissingFileIsATypedErrorNamingThePath() throws {
        let directory = try makeTemporaryDirectory("TextTests")
        let expected = directory.url.appendingPathComponent("MNLI/dev_matched.tsv").path
        XCTAssertThrowsError(try GLUEDataset.read(task: .mnli, split: .validation, glueDirectory: directory.url)) {
            XCTAssertEqual($0 as? TextError, .missingFile(path: expected))
            XCTAssertTrue("\($0)".contains(expected))
        }
    }

    func testMissingColumnIsATypedErrorNamingColumnAndPath() throws {
        let directory = try makeTemporaryDirectory("TextTests")
        let path = try directory.write("QNLI/train.tsv", "index\tquestion\tlabel\n0\tWhy?\tentailment\n").path
        XCTAssertThrowsError(try GLUEDataset.read(task: .qnli, split: .train, glueDirectory: directory.url)) {
            XCTAssertEqual($0 as? TextError,
                           .missingColumn(path: path, column: "sentence", header: ["index", "question", "label"]))
            XCTAssertTrue("\($0)".contains("'sentence'") && "\($0)".contains(path), "\($0)")
        }
    }

    func testEmptyFileWithoutHeaderIsATypedError() throws {
        let directory = try makeTemporaryDirectory("TextTests")
        let path = try directory.write("SST-2/train.tsv", "").path
        XCTAssertThrowsError(try GLUEDataset.read(task: .sst2, split: .train, glueDirectory: directory.url)) {
            XCTAssertEqual($0 as? TextError, .missingHeader(path: path))
        }
    }

    func testTaskNamesAreValidatedWithTheAllowedList() throws {
        XCTAssertEqual(GLUETask.allNames, ["sst2", "mrpc", "cola", "rte", "qnli", "stsb", "mnli", "qqp"])
        XCTAssertEqual(try GLUETask(name: "rte"), .rte)
        XCTAssertThrowsError(try GLUETask(name: "wnli")) {
            XCTAssertEqual($0 as? TextError, .unknownTask(name: "wnli", allowed: GLUETask.allNames))
            XCTAssertEqual(($0 as? TextError)?.code, "unknown_task")
            XCTAssertTrue("\($0)".contains("sst2, mrpc, cola, rte, qnli, stsb, mnli, qqp"))
        }
    }

    func testLabelCountsAndMetricsFollowHFGLUE() {
        XCTAssertEqual(GLUETask.allCases.map(\.numberOfLabels), [2, 2, 2, 2, 2, 1, 3, 2])
        XCTAssertEqual(GLUETask.allCases.map(\.primaryMetric),
                       [.accuracy, .f1, .matthewsCorrelation, .accuracy, .accuracy, .spearman, .accuracy, .f1])
        XCTAssertEqual(GLUETask.mnli.fileName(.validation), "dev_matched.tsv")
        XCTAssertEqual(GLUETask.allCases.filter(\.isRegression), [.stsb])
    }
}
