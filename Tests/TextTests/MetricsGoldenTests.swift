import XCTest
@testable import Text

/// The metrics against scikit-learn and SciPy on `Golden/metrics_golden.json` (`Tests/Scripts/metrics_golden.py`),
/// to 1e-6. A null F1 marks a multiclass case (F1 is binary only); a null correlation is SciPy's NaN for a
/// constant input, which the Swift policy reports as 0.
final class MetricsGoldenTests: XCTestCase {
    private struct ClassificationCase: Decodable {
        let name: String
        let predictions: [Int]
        let labels: [Int]
        let accuracy: Double
        let f1: Double?
        let matthews_correlation: Double
    }

    private struct RegressionCase: Decodable {
        let name: String
        let predictions: [Double]
        let labels: [Double]
        let pearson: Double?
        let spearmanr: Double?
    }

    private struct GoldenFile: Decodable {
        let classification: [ClassificationCase]
        let regression: [RegressionCase]
    }

    private let tolerance = 1e-6

    func testClassificationMetricsMatchScikitLearn() throws {
        let golden = try Golden.decode(GoldenFile.self, from: "metrics_golden.json")
        XCTAssertGreaterThan(golden.classification.count, 10)
        for c in golden.classification {
            XCTAssertEqual(Metrics.accuracy(predictions: c.predictions, labels: c.labels), c.accuracy,
                           accuracy: tolerance, c.name)
            XCTAssertEqual(Metrics.matthewsCorrelation(predictions: c.predictions, labels: c.labels),
                           c.matthews_correlation, accuracy: tolerance, c.name)
            if let f1 = c.f1 {
                XCTAssertEqual(Metrics.f1(predictions: c.predictions, labels: c.labels), f1, accuracy: tolerance, c.name)
            }
        }
    }

    func testCorrelationsMatchSciPyAndUndefinedOnesAreZero() throws {
        let golden = try Golden.decode(GoldenFile.self, from: "metrics_golden.json")
        XCTAssertGreaterThan(golden.regression.count, 5)
        XCTAssertTrue(golden.regression.contains { $0.pearson == nil }, "the golden should cover SciPy's NaN case")
        for c in golden.regression {
            XCTAssertEqual(Metrics.pearson(c.predictions, c.labels), c.pearson ?? 0, accuracy: tolerance, c.name)
            XCTAssertEqual(Metrics.spearman(c.predictions, c.labels), c.spearmanr ?? 0, accuracy: tolerance, c.name)
        }
    }

    func testAverageRanksShareTiedRanks() {
        XCTAssertEqual(Metrics.averageRanks([10, 20, 10, 30, 20, 10]), [2, 4.5, 2, 6, 4.5, 2])
    }

    func testReportsCarryEachTasksMetricsWithThePrimaryFirst() throws {
        let golden = try Golden.decode(GoldenFile.self, from: "metrics_golden.json")
        let binary = try XCTUnwrap(golden.classification.first { $0.name == "binary-random-408" })
        let mrpc = MetricReport.classification(task: .mrpc, predictions: binary.predictions, labels: binary.labels)
        XCTAssertEqual(Set(mrpc.values.keys), [.f1, .accuracy])
        XCTAssertEqual(mrpc.primary, try XCTUnwrap(binary.f1), accuracy: tolerance)
        let cola = MetricReport.classification(task: .cola, predictions: binary.predictions, labels: binary.labels)
        XCTAssertEqual(Set(cola.values.keys), [.matthewsCorrelation])
        XCTAssertEqual(cola.primary, binary.matthews_correlation, accuracy: tolerance)
        let rte = MetricReport.classification(task: .rte, predictions: binary.predictions, labels: binary.labels)
        XCTAssertEqual(rte.primary, binary.accuracy, accuracy: tolerance)

        let scores = try XCTUnwrap(golden.regression.first { $0.name == "ties-300" })
        let stsb = MetricReport.regression(task: .stsb, predictions: scores.predictions, labels: scores.labels)
        XCTAssertEqual(Set(stsb.values.keys), [.spearman, .pearson])
        XCTAssertEqual(stsb.primary, try XCTUnwrap(scores.spearmanr), accuracy: tolerance)
        XCTAssertEqual(stsb.values[.pearson] ?? .nan, try XCTUnwrap(scores.pearson), accuracy: tolerance)
    }
}
