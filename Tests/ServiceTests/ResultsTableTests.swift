import XCTest
@testable import Service

final class ResultsTableTests: XCTestCase {
    private let table = ResultsTable(
        cells: [
            .init(task: "rte", k: "100", method: "lora", seedValues: [(1, 0.5), (2, 0.6), (3, 0.7)]),
            .init(task: "sst2", k: "100", method: "lora", seedValues: [(1, 0.8)]),
            .init(task: "rte", k: "100", method: "unipelt-apl", seedValues: [(1, 0.55), (2, 0.65)]),
            .init(task: "rte", k: "500", method: "lora", seedValues: [(1, 0.61), (2, 0.63)]),
            .init(task: "mrpc", k: "100", method: "lora", seedValues: []),
        ],
        taskOrder: ["sst2", "mrpc", "rte"], methodOrder: ["finetune", "lora", "unipelt-apl"])

    func testMeanAndSampleStandardDeviation() {
        let cell = table.cells[0]
        XCTAssertEqual(cell.mean, 0.6, accuracy: 1e-12)
        XCTAssertEqual(cell.standardDeviation, 0.1, accuracy: 1e-12)  // sample std of 0.5, 0.6, 0.7
        XCTAssertEqual(table.cells[1].standardDeviation, 0)
    }

    func testOrdersDropEmptyTasksAndMethods() {
        XCTAssertEqual(table.taskOrder, ["sst2", "rte"])
        XCTAssertEqual(table.methodOrder, ["lora", "unipelt-apl"])
        XCTAssertEqual(table.kValues, ["100", "500"])
    }

    func testAverageOnlyWhenEveryTaskHasAValue() {
        XCTAssertEqual(table.average(k: "100", method: "lora")!, 0.7, accuracy: 1e-12)
        XCTAssertNil(table.average(k: "100", method: "unipelt-apl"))
    }

    func testCSVLayout() {
        XCTAssertEqual(table.csv(), """
        k,method,sst2,rte,avg
        100,lora,80.00 ± 0.00,60.00 ± 10.00,70.00
        100,unipelt-apl,,60.00 ± 7.07,
        500,lora,,62.00 ± 1.41,

        """)
    }

    func testJSONRows() throws {
        let rows = table.rows()
        XCTAssertEqual(rows.map { "\($0.k)/\($0.method)" }, ["100/lora", "100/unipelt-apl", "500/lora"])
        XCTAssertEqual(rows[0].tasks["rte"]?.values ?? [], [50, 60, 70])
        XCTAssertEqual(rows[0].tasks["rte"]?.seeds, [1, 2, 3])
        XCTAssertEqual(rows[0].average!, 70, accuracy: 1e-9)
        XCTAssertNil(rows[1].average)
        let json = String(decoding: try JSONEncoder().encode(rows[1]), as: UTF8.self)
        XCTAssertTrue(json.contains(#""object":"results.row""#), json)
    }
}
