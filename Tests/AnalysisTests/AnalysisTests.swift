import Foundation
import XCTest
import Text
@testable import Analysis

/// Synthetic results whose tables are known by construction.
final class AnalysisTests: XCTestCase {
    /// Runs of one K = 100: (task, method, variant, seed, test, dev).
    private func runs(_ rows: [(String, String, String, Int, Double, Double?)]) -> [RunRecord] {
        rows.enumerated().map { index, row in
            RunRecord(task: row.0, k: .k(100), method: row.1, variant: row.2, seed: row.3, id: "job\(index)",
                      outcome: .init(metric: "accuracy", test: row.4, dev: row.5))
        }
    }

    private func grid(_ runs: [RunRecord], tasks: [String] = ["sst2", "mrpc", "rte"]) -> ResultGrid {
        ResultGrid(runs: runs, taskOrder: tasks,
                   methodOrder: ["finetune", "adapter", "prefix", "lora", "unipelt-ap", "unipelt-apl"])
    }

    // MARK: Table 1 and selection by dev

    func testTheDevWinnerIsSelectedEvenWhenItLosesOnTest() throws {
        let grid = grid(runs([
            ("rte", "lora", "learning_rate=0.001", 1, 0.50, 0.80), ("rte", "lora", "learning_rate=0.001", 2, 0.52, 0.82),
            ("rte", "lora", "learning_rate=0.0001", 1, 0.90, 0.70), ("rte", "lora", "learning_rate=0.0001", 2, 0.92, 0.72),
        ]))
        let table = Table1(grid, variants: .selected)
        XCTAssertEqual(table.rows.count, 1)
        let rte = try XCTUnwrap(table.rows[0].tasks["rte"])
        XCTAssertEqual(rte.variant, "learning_rate=0.001", "dev picks; the better test of the other variant does not")
        XCTAssertEqual(rte.mean, 51, accuracy: 1e-9)
        XCTAssertEqual(rte.devMean!, 81, accuracy: 1e-9)
        XCTAssertEqual(rte.variantCount, 2)
        XCTAssertEqual(table.rows[0].variant, "learning_rate=0.001")
        XCTAssertEqual(table.rows[0].selectedBy, "dev")
        // Every variant on its own line on request, in name order.
        let all = Table1(grid, variants: .all)
        XCTAssertEqual(all.rows.map(\.variant), ["learning_rate=0.0001", "learning_rate=0.001"])
        XCTAssertEqual(all.rows[0].tasks["rte"]!.mean, 91, accuracy: 1e-9)
        XCTAssertNil(all.rows[0].selectedBy)
    }

    func testVariantsChosenPerTaskAreNamedInTheCSV() {
        let grid = grid(runs([
            ("sst2", "lora", "epochs=3", 1, 0.80, 0.90), ("sst2", "lora", "epochs=9", 1, 0.70, 0.60),
            ("rte", "lora", "epochs=3", 1, 0.60, 0.50), ("rte", "lora", "epochs=9", 1, 0.40, 0.55),
            ("sst2", "adapter", "epochs=3", 1, 0.75, 0.70), ("sst2", "adapter", "epochs=3", 2, 0.85, 0.70),
        ]))
        XCTAssertEqual(Table1(grid, variants: .selected).csv(), """
        k,method,variant,sst2,rte,avg,sst2 variant,rte variant
        100,adapter,epochs=3,80.00 ± 7.07,,,epochs=3,
        100,lora,(per task),80.00,40.00,60.00,epochs=3,epochs=9

        """)
    }

    func testTable1WithoutVariantsKeepsItsLayoutAndAveragesOnlyCompleteLines() {
        let records = runs([
            ("sst2", "lora", "", 1, 0.8, nil), ("rte", "lora", "", 1, 0.5, nil), ("rte", "lora", "", 2, 0.6, nil),
            ("rte", "lora", "", 3, 0.7, nil), ("rte", "unipelt-apl", "", 1, 0.55, nil), ("rte", "unipelt-apl", "", 2, 0.65, nil),
        ]) + [RunRecord(task: "mrpc", k: .all, method: "lora", seed: 1, id: "queued", outcome: nil),
              RunRecord(task: "rte", k: .all, method: "lora", seed: 1, id: "all", outcome: .init(metric: "accuracy", test: 0.9, dev: nil))]
        let table = Table1(grid(records), variants: .selected)
        // mrpc has a job but no value yet: an empty column, and no line averages over tasks without it.
        XCTAssertEqual(table.csv(), """
        k,method,variant,sst2,mrpc,rte,avg
        100,lora,,80.00,,60.00 ± 10.00,
        100,unipelt-apl,,,,60.00 ± 7.07,
        all,lora,,,,90.00,

        """)
        XCTAssertEqual(table.rows[0].tasks["rte"]!.jobCount, 3)
        XCTAssertEqual(table.rows[0].tasks["rte"]!.std!, 10, accuracy: 1e-9)
    }

    // MARK: Table 2

    /// Per task a different submodule is best: sst2 adapter, mrpc prefix, rte lora.
    private let table2Runs: [(String, String, String, Int, Double, Double?)] = [
        ("sst2", "adapter", "", 1, 0.90, 0.5), ("sst2", "prefix", "", 1, 0.80, 0.5), ("sst2", "lora", "", 1, 0.70, 0.5),
        ("sst2", "adapter", "", 2, 0.80, 0.5), ("sst2", "prefix", "", 2, 0.85, 0.5), ("sst2", "lora", "", 2, 0.70, 0.5),
        ("sst2", "unipelt-apl", "", 1, 0.88, 0.5), ("sst2", "unipelt-apl", "", 2, 0.90, 0.5),
        ("mrpc", "adapter", "", 1, 0.60, 0.5), ("mrpc", "prefix", "", 1, 0.75, 0.5), ("mrpc", "lora", "", 1, 0.70, 0.5),
        ("mrpc", "unipelt-apl", "", 1, 0.80, 0.5), ("mrpc", "unipelt-apl", "", 2, 0.70, 0.5),
        ("rte", "adapter", "", 1, 0.50, 0.5), ("rte", "prefix", "", 1, 0.55, 0.5), ("rte", "lora", "", 1, 0.60, 0.5),
        ("rte", "unipelt-apl", "", 1, 0.58, 0.5),
    ]

    func testUpperBoundPicksTheBestSubmodulePerTask() throws {
        let table = Table2(grid(runs(table2Runs)))
        XCTAssertEqual(table.rows.map(\.method), ["unipelt-apl"], "no unipelt-ap runs, no unipelt-ap row")
        let row = table.rows[0]
        XCTAssertEqual(row.submodules, ["adapter", "prefix", "lora"])
        XCTAssertEqual(row.tasks["sst2"]!.upperBoundMethod, "adapter")   // 85 against 82.5 and 70
        XCTAssertEqual(row.tasks["mrpc"]!.upperBoundMethod, "prefix")
        XCTAssertEqual(row.tasks["rte"]!.upperBoundMethod, "lora")
        XCTAssertEqual(row.tasks["sst2"]!.upperBound, 85, accuracy: 1e-9)
        XCTAssertEqual(row.tasks["sst2"]!.margin, 4, accuracy: 1e-9)
        XCTAssertEqual(row.tasks["mrpc"]!.margin, 0, accuracy: 1e-9)
        XCTAssertEqual(row.tasks["rte"]!.margin, -2, accuracy: 1e-9)
        let average = try XCTUnwrap(row.average)
        XCTAssertEqual(average.upperBound, (85 + 75 + 60) / 3, accuracy: 1e-9)
        XCTAssertEqual(average.margin, (4 + 0 - 2) / 3, accuracy: 1e-9)
    }

    func testPairedUpperBoundUsesOnlySeedsEveryMethodRan() throws {
        let row = Table2(grid(runs(table2Runs))).rows[0]
        let sst2 = try XCTUnwrap(row.tasks["sst2"]!.paired)
        XCTAssertEqual(sst2.seeds.map(\.seed), [1, 2])
        XCTAssertEqual(sst2.seeds.map(\.upperBoundMethod), ["adapter", "prefix"], "the per-seed best may differ by seed")
        XCTAssertEqual(sst2.seeds[1].margin, 5, accuracy: 1e-9)
        XCTAssertEqual(sst2.margin, (-2 + 5) / 2, accuracy: 1e-9)
        let mrpc = try XCTUnwrap(row.tasks["mrpc"]!.paired)
        XCTAssertEqual(mrpc.seeds.map(\.seed), [1], "seed 2 has no submodule runs")
        XCTAssertEqual(row.average!.pairedMargin!, ((-2 + 5) / 2 + 5 - 2) / 3, accuracy: 1e-9)
    }

    // MARK: Paired comparisons

    func testBootstrapOnIdenticalMethodsIsZeroAndAllTies() throws {
        let values: [Double] = [0.61, 0.55, 0.70, 0.58]
        let records = runs(values.enumerated().flatMap { seed, value in
            [("rte", "lora", "", seed, value, 0.5), ("rte", "adapter", "", seed, value, 0.5)]
        })
        let comparison = PairedComparison(grid(records), a: "lora", b: .method("adapter"))
        let rte = try XCTUnwrap(comparison.rows.first?.tasks["rte"])
        XCTAssertEqual(rte.n, 4)
        XCTAssertEqual(rte.meanDifference, 0)
        XCTAssertLessThanOrEqual(try XCTUnwrap(rte.interval).low, 0)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(rte.interval).high, 0)
        XCTAssertEqual([rte.wins, rte.ties, rte.losses], [0, 4, 0])
    }

    /// The t interval is mean ± t(0.975, n − 1)·s/√n; below two pairs neither interval exists; seeds only one
    /// side ran are named, not silently dropped.
    func testPairsGetAStudentTIntervalAndUnpairedSeedsAreNamed() throws {
        // lora has seeds 0–3, adapter 0–2: three pairs with differences 2, 4, 9 (×100 scale).
        let records = runs([("rte", "lora", "", 0, 0.52, 0.5), ("rte", "lora", "", 1, 0.54, 0.5),
                            ("rte", "lora", "", 2, 0.59, 0.5), ("rte", "lora", "", 3, 0.60, 0.5),
                            ("rte", "adapter", "", 0, 0.50, 0.5), ("rte", "adapter", "", 1, 0.50, 0.5),
                            ("rte", "adapter", "", 2, 0.50, 0.5)])
        let rte = try XCTUnwrap(PairedComparison(grid(records), a: "lora", b: .method("adapter")).rows.first?.tasks["rte"])
        XCTAssertEqual([rte.n, rte.aN, rte.bN], [3, 4, 3])
        XCTAssertEqual(rte.unpairedSeeds, [3])
        // Differences 2, 4, 9: mean 5, squared deviations 9 + 1 + 16 over n − 1 = 2.
        let mean = 5.0
        let s = (26.0 / 2).squareRoot()
        let half = 4.302653 * s / 3.0.squareRoot()
        let t = try XCTUnwrap(rte.tInterval)
        XCTAssertEqual(t.low, mean - half, accuracy: 1e-9)
        XCTAssertEqual(t.high, mean + half, accuracy: 1e-9)

        let single = runs([("rte", "lora", "", 0, 0.6, 0.5), ("rte", "adapter", "", 0, 0.5, 0.5)])
        let one = try XCTUnwrap(PairedComparison(grid(single), a: "lora", b: .method("adapter")).rows.first?.tasks["rte"])
        XCTAssertNil(one.interval)
        XCTAssertNil(one.tInterval)
    }

    /// The table's 97.5% quantiles of Student's t (from scipy.stats.t.ppf) and the expansion past the table.
    func testStudentTQuantiles() {
        for (df, expected) in [(1, 12.706205), (2, 4.302653), (4, 2.776445), (30, 2.042272), (31, 2.039513),
                               (60, 2.000298), (120, 1.979930)] {
            XCTAssertEqual(Statistics.studentT975(degreesOfFreedom: df), expected, accuracy: 2e-6, "df \(df)")
        }
    }

    /// A task whose jobs have no value yet is still one of the table's tasks, so no average over tasks is
    /// reported as complete without it.
    func testATaskWithoutValuesKeepsTheAverageEmpty() throws {
        var records = runs([("rte", "lora", "", 1, 0.6, 0.5)])
        records.append(RunRecord(task: "mrpc", k: .k(100), method: "lora", seed: 1, id: "pending", outcome: nil))
        XCTAssertEqual(grid(records).tasks, ["mrpc", "rte"])
        XCTAssertNil(try XCTUnwrap(Table1(grid(records), variants: .selected).rows.first).average)
    }

    func testBootstrapIntervalIsDeterministicAndBracketsTheMean() {
        let differences: [Double] = [3, -1, 4, 1, 5, -9, 2, 6]
        let bootstrap = PairedBootstrap(resamples: 2_000, seed: 7)
        let interval = bootstrap.interval(differences)
        XCTAssertEqual(interval, bootstrap.interval(differences), "same seed, same interval")
        XCTAssertLessThan(interval.low, 11.0 / 8)
        XCTAssertGreaterThan(interval.high, 11.0 / 8)
        XCTAssertGreaterThanOrEqual(interval.low, -9)
        XCTAssertLessThanOrEqual(interval.high, 6)
        XCTAssertEqual(PairedBootstrap().interval([2, 2, 2]), PairedBootstrap.Interval(low: 2, high: 2))
    }

    func testWinsTiesLossesPerTaskAndOnTheTaskAverage() throws {
        // a − b: sst2 seeds 1..3 = +10, 0, −5; rte seeds 1..3 = +20, +20, 0 (rte has seed 4 only for a).
        let records = runs([
            ("sst2", "unipelt-apl", "", 1, 0.80, 0.5), ("sst2", "lora", "", 1, 0.70, 0.5),
            ("sst2", "unipelt-apl", "", 2, 0.70, 0.5), ("sst2", "lora", "", 2, 0.70, 0.5),
            ("sst2", "unipelt-apl", "", 3, 0.60, 0.5), ("sst2", "lora", "", 3, 0.65, 0.5),
            ("rte", "unipelt-apl", "", 1, 0.70, 0.5), ("rte", "lora", "", 1, 0.50, 0.5),
            ("rte", "unipelt-apl", "", 2, 0.70, 0.5), ("rte", "lora", "", 2, 0.50, 0.5),
            ("rte", "unipelt-apl", "", 3, 0.50, 0.5), ("rte", "lora", "", 3, 0.50, 0.5),
            ("rte", "unipelt-apl", "", 4, 0.90, 0.5),
        ])
        let row = try XCTUnwrap(PairedComparison(grid(records), a: "unipelt-apl", b: .method("lora")).rows.first)
        let sst2 = try XCTUnwrap(row.tasks["sst2"]), rte = try XCTUnwrap(row.tasks["rte"])
        XCTAssertEqual([sst2.wins, sst2.ties, sst2.losses], [1, 1, 1])
        XCTAssertEqual([rte.wins, rte.ties, rte.losses], [2, 1, 0])
        XCTAssertEqual(rte.seeds, [1, 2, 3], "seed 4 has no pair")
        XCTAssertEqual(sst2.meanDifference, 5.0 / 3, accuracy: 1e-9)
        let average = try XCTUnwrap(row.average)
        XCTAssertEqual(average.differences[0], 15, accuracy: 1e-9)   // (10 + 20) / 2
        XCTAssertEqual(average.differences[1], 10, accuracy: 1e-9)
        XCTAssertEqual(average.differences[2], -2.5, accuracy: 1e-9)
        XCTAssertEqual([average.wins, average.ties, average.losses], [2, 0, 1])
        XCTAssertEqual([row.taskWins, row.taskTies, row.taskLosses], [2, 0, 0])
        // On the average a run is a value in every task: unipelt-apl's seed 4 is in rte only.
        XCTAssertEqual([average.n, average.aN, average.bN], [3, 3, 3])
        XCTAssertEqual(average.unpairedSeeds, [])
        let withSST2Seed4 = records + runs([("sst2", "unipelt-apl", "", 4, 0.9, 0.5)])
        let both = try XCTUnwrap(PairedComparison(grid(withSST2Seed4), a: "unipelt-apl", b: .method("lora")).rows.first?.average)
        XCTAssertEqual([both.n, both.aN, both.bN], [3, 4, 3])
        XCTAssertEqual(both.unpairedSeeds, [4])
    }

    func testBestSingleIsThePerTaskUpperBoundSubmodule() throws {
        let row = try XCTUnwrap(PairedComparison(grid(runs(table2Runs)), a: "unipelt-apl", b: .bestSingle).rows.first)
        XCTAssertEqual(row.tasks["sst2"]?.bMethod, "adapter")
        XCTAssertEqual(row.tasks["mrpc"]?.bMethod, "prefix")
        XCTAssertEqual(row.tasks["rte"]?.bMethod, "lora")
        XCTAssertEqual(row.tasks["sst2"]!.differences, [-2, 10].map { $0 }, accuracy: 1e-9)
        XCTAssertTrue(PairedComparison(grid(runs(table2Runs)), a: "lora", b: .bestSingle).rows.isEmpty,
                      "a single method has no submodules to bound it")
    }

    // MARK: Gates

    func testGateMeansOverSeedsOfTheSelectedVariant() throws {
        let records = runs([
            ("rte", "unipelt-apl", "epochs=3", 1, 0.6, 0.7), ("rte", "unipelt-apl", "epochs=3", 2, 0.6, 0.7),
            ("rte", "unipelt-apl", "epochs=9", 1, 0.9, 0.1), ("rte", "lora", "", 1, 0.6, 0.7),
        ])
        let gates: [String: [GateReading]] = [
            "job0": [GateReading(layer: 1, submodule: "P", value: 0.2), GateReading(layer: 0, submodule: "Lv", value: 0.4),
                     GateReading(layer: 0, submodule: "A", value: 0.5)],
            "job1": [GateReading(layer: 1, submodule: "P", value: 0.4), GateReading(layer: 0, submodule: "Lv", value: 0.6),
                     GateReading(layer: 0, submodule: "A", value: 0.7)],
            "job2": [GateReading(layer: 0, submodule: "A", value: 0.99)],
        ]
        let summary = GateSummary(grid(records), gates: gates, variants: .selected)
        XCTAssertEqual(summary.rows.map { "\($0.method)/\($0.variant)" }, ["unipelt-apl/epochs=3"], "lora has no gates")
        let row = summary.rows[0]
        XCTAssertEqual(row.seeds, [1, 2])
        XCTAssertEqual(row.gates.map { "\($0.layer)\($0.submodule)" }, ["0A", "0Lv", "1P"])
        XCTAssertEqual(row.gates[0].mean, 0.6, accuracy: 1e-12)
        XCTAssertEqual(row.gates[2].std!, (0.02 as Double).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(GateSummary(grid(records), gates: gates, variants: .all).rows.map(\.variant), ["epochs=3", "epochs=9"])
        XCTAssertEqual(summary.csv().split(separator: "\n").first, "k,task,method,variant,layer,submodule,mean,std,n")
    }

    func testJSONKeysAreSnakeCaseWithNulls() throws {
        let table = Table1(grid(runs([("rte", "lora", "", 1, 0.5, nil)])), variants: .selected)
        let json = String(decoding: try JSONEncoder().encode(table.rows[0]), as: UTF8.self)
        for fragment in [#""object":"results.row""#, #""std":null"#, #""dev_mean":null"#, #""job_ids":["job0"]"#,
                         #""selected_by":"dev""#, #""average":50"#] {
            XCTAssertTrue(json.contains(fragment), "\(fragment) in \(json)")
        }
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
