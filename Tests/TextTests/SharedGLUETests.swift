import XCTest
@testable import Text

/// The readers on the full GLUE data in `../shared/glue` (skipped when it is absent, as in CI). Expected row
/// counts and label counts are those stated in `../shared/glue/PROVENANCE.md`.
final class SharedGLUETests: XCTestCase {
    func testEveryTaskFileReadsAllItsRowsWithoutSkips() throws {
        let glue = try Golden.sharedGLUE()
        let expected: [GLUETask: (train: Int, validation: Int)] = [
            .cola: (8551, 1043), .sst2: (67349, 872), .mrpc: (3668, 408), .rte: (2490, 277),
            .stsb: (5749, 1500), .qnli: (9997, 5463), .qqp: (23496, 40430), .mnli: (9999, 9815),
        ]
        for task in GLUETask.allCases {
            let dataset = try GLUEDataset.load(task: task, glueDirectory: glue)
            for (file, count) in [(dataset.train, expected[task]!.train), (dataset.validation, expected[task]!.validation)] {
                print("\(file.path): \(file.examples.count) read, \(file.skipped.count) skipped")
                XCTAssertEqual(file.examples.count, count, file.path)
                XCTAssertEqual(file.skipped, [], file.path)
            }
        }
    }

    func testLabelCountsMatchTheKnownGLUESplits() throws {
        let glue = try Golden.sharedGLUE()
        func counts(_ task: GLUETask, _ split: GLUESplit) throws -> [Int] {
            let file = try GLUEDataset.read(task: task, split: split, glueDirectory: glue)
            var counts = [Int](repeating: 0, count: task.numberOfLabels)
            for example in file.examples { counts[example.label.category!] += 1 }
            return counts
        }
        XCTAssertEqual(try counts(.mnli, .validation), [3479, 3123, 3213])  // entailment, neutral, contradiction
        XCTAssertEqual(try counts(.qqp, .validation), [25545, 14885])
        XCTAssertEqual(try counts(.qnli, .train), [5026, 4971])
    }
}
