import XCTest
import Text
@testable import Service

final class ExpectedJobCostTests: XCTestCase {
    private func cell(_ task: String, k: TrainingSize = .k(100), _ method: String = "lora",
                      _ hyperparameters: [(name: String, value: JSONValue)] = []) -> JobCell {
        JobCell(task: task, k: k, seed: 1, method: method, model: "default", hyperparameters: hyperparameters)
    }

    func testLongerTrainingMoreEvaluationAndCostlierMethodsCostMore() {
        let base = ExpectedJobCost.estimate(cell("rte"), installation: nil)
        XCTAssertGreaterThan(base, 0)
        XCTAssertGreaterThan(ExpectedJobCost.estimate(cell("rte", k: .k(1000)), installation: nil), base)
        XCTAssertGreaterThan(ExpectedJobCost.estimate(cell("rte", "finetune"), installation: nil), base)
        XCTAssertGreaterThan(ExpectedJobCost.estimate(cell("rte", "lora", [("epochs", .number(80))]), installation: nil), base)
        XCTAssertGreaterThan(ExpectedJobCost.estimate(cell("rte", "lora", [("eval_every_steps", .number(1))]),
                                                      installation: nil), base)
        XCTAssertEqual(ExpectedJobCost.estimate(cell("nosuchtask"), installation: nil), 0)
    }
}
