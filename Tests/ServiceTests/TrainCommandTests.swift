import Foundation
import XCTest
import TestSupport

/// `unipelt train` through the real binary: one job writes its curves, gates, result and
/// checkpoints into `--out`; bad input exits non-zero with a message that names what is wrong.
final class TrainCommandTests: XCTestCase {
    private var world: TinyWorld!

    override func setUpWithError() throws { world = try TinyWorld() }
    override func tearDown() { world.remove() }

    private var tinyModelAndData: [String] { ["--model", world.modelDirectory + "/tiny", "--glue", world.glueDirectory] }
    private let shortRun = ["--set", "epochs=2", "--set", "batch_size=8", "--set", "max_seq_length=32", "--quiet"]

    private func train(_ arguments: [String]) throws -> (status: Int32, errors: String) {
        let run = try runProgram(ServiceProcess.binary.path, ["train"] + arguments)
        return (run.status, run.errors)
    }

    func testOneJobWritesCurvesGatesResultAndCheckpoints() throws {
        let out = world.root.appendingPathComponent("run").path
        let run = try train(["--task", "rte", "--k", "16", "--seed", "1", "--method", "unipelt-apl", "--out", out]
                            + tinyModelAndData + shortRun)
        XCTAssertEqual(run.status, 0, run.errors)

        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: out + "/result.json"))) as? [String: Any])
        XCTAssertEqual(summary["status"] as? String, "finished")
        let result = try XCTUnwrap(summary["result"] as? [String: Any], "\(summary)")
        XCTAssertEqual(result["stepsRun"] as? Int, 4, "16 examples in batches of 8, 2 epochs")
        XCTAssertNotNil(result["testMetric"] as? Double)

        // One row per evaluation (each epoch), and per evaluation 2 layers × 4 gates (A, P, Lq, Lv).
        let metrics = try String(contentsOfFile: out + "/metrics.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(metrics.dropFirst().map { $0.split(separator: ",")[0] }, ["2", "4"], "\(metrics)")
        let gates = try String(contentsOfFile: out + "/gates.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(gates.count, 1 + 2 * 2 * 4, "\(gates)")
        for name in ["best.safetensors", "last.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/\(name)"), name)
        }
        // The same folder again without --resume would overwrite the run: refused, and the run is left as it was.
        let resultBefore = try Data(contentsOf: URL(fileURLWithPath: out + "/result.json"))
        let again = try train(["--task", "rte", "--k", "16", "--seed", "1", "--method", "unipelt-apl", "--out", out]
                              + tinyModelAndData + shortRun)
        XCTAssertEqual(again.status, 2)
        XCTAssertTrue(again.errors.contains("already holds a run (result.json): pass --resume"), again.errors)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/result.json")), resultBefore)
    }

    /// `--summarize` over run folders that differ in one hyperparameter: it becomes the variant, and dev selects.
    func testSummarizeSelectsTheSweptVariantByDev() throws {
        let record = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Results/table1-k100/rte-k100-s1-lora/result.json")
        let template = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: record)) as? [String: Any])
        let runs = world.root.appendingPathComponent("runs")
        // (learning rate, seed, dev, test): 0.001 wins on dev, loses on test.
        for (rate, seed, dev, test) in [(0.001, 1, 0.6, 0.5), (0.001, 2, 0.6, 0.5), (0.0005, 1, 0.55, 0.7), (0.0005, 2, 0.55, 0.7)] {
            var summary = template, spec = template["spec"] as! [String: Any], result = template["result"] as! [String: Any]
            var hyperparameters = spec["hyperparameters"] as! [String: Any]
            hyperparameters["learningRate"] = rate
            spec["hyperparameters"] = hyperparameters
            spec["seed"] = seed
            result["seed"] = seed
            result["bestDevMetric"] = dev
            result["testMetric"] = test
            (summary["spec"], summary["result"]) = (spec, result)
            let folder = runs.appendingPathComponent("rte-lora-\(rate)-s\(seed)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try JSONSerialization.data(withJSONObject: summary).write(to: folder.appendingPathComponent("result.json"))
        }
        let table = try runProgram(ServiceProcess.binary.path, ["train", "--summarize", runs.path])
        XCTAssertEqual(table.status, 0, table.errors)
        XCTAssertEqual(table.output, """
        k,method,variant,rte,avg,rte variant
        100,lora,learning_rate=0.001,50.00 ± 0.00,50.00,learning_rate=0.001

        """)
        let all = try runProgram(ServiceProcess.binary.path, ["train", "--summarize", runs.path, "--variants", "all"])
        XCTAssertEqual(all.output.split(separator: "\n").count, 3, all.output)
        let compare = try runProgram(ServiceProcess.binary.path, ["train", "--summarize", runs.path, "--compare", "lora", "lora"])
        XCTAssertTrue(compare.output.contains("100,rte,lora,lora,2,2,2,+0.00,+0.00,+0.00,+0.00,+0.00,0,2,0"), compare.output)
        let bad = try runProgram(ServiceProcess.binary.path, ["train", "--summarize", runs.path, "--compare", "lora", "best-single"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.errors.contains("best-single needs a UniPELT method"), bad.errors)

        // A copied run folder is the same seed of the same cell twice: refused, naming both, not counted twice.
        let original = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: runs.path).sorted().first)
        try FileManager.default.copyItem(at: runs.appendingPathComponent(original), to: runs.appendingPathComponent("zz-copy"))
        let twice = try runProgram(ServiceProcess.binary.path, ["train", "--summarize", runs.path, "--compare", "lora", "lora"])
        XCTAssertEqual(twice.status, 2, twice.output)
        XCTAssertTrue(twice.errors.contains("\(original) and zz-copy are both"), twice.errors)
    }

    /// `unipelt predict` and `unipelt export` on the checkpoint `unipelt train` wrote.
    func testPredictAndExportATrainedCheckpoint() throws {
        let out = world.root.appendingPathComponent("run").path
        let run = try train(["--task", "rte", "--k", "16", "--seed", "1", "--method", "lora", "--out", out]
                            + tinyModelAndData + shortRun)
        XCTAssertEqual(run.status, 0, run.errors)
        let model = ["--model", world.modelDirectory + "/tiny"]
        let checkpoint = ["--checkpoint", out + "/best.safetensors"]

        let predicted = try runProgram(ServiceProcess.binary.path, ["predict"] + checkpoint + model,
                                       input: "[\"w1 w2\", \"w1 w3\"]\n[\"w4 w5\", \"w6\"]\n")
        XCTAssertEqual(predicted.status, 0, predicted.errors)
        let lines = predicted.output.split(separator: "\n").map {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        XCTAssertEqual(lines.map { $0?["index"] as? Int }, [0, 1])
        for line in lines {
            XCTAssertEqual((line?["logits"] as? [Double])?.count, 2)
            XCTAssertTrue(["entailment", "not_entailment"].contains(line?["label"] as? String ?? ""))
        }
        let badLine = try runProgram(ServiceProcess.binary.path, ["predict"] + checkpoint + model, input: "[\"w1\", \"w2\"]\n[1]\n")
        XCTAssertEqual(badLine.status, 1)
        XCTAssertTrue(badLine.errors.contains("line 2[0]"), badLine.errors)
        // RTE takes pairs: a one-text line is refused by its number, before anything is predicted.
        let oneText = try runProgram(ServiceProcess.binary.path, ["predict"] + checkpoint + model,
                                     input: "[\"w1\", \"w2\"]\n\n[\"w3\"]\n")
        XCTAssertEqual(oneText.status, 1)
        // Lines are counted as the file has them, blank ones included.
        XCTAssertTrue(oneText.errors.contains("line 3: rte takes a pair of texts, got 1"), oneText.errors)
        XCTAssertEqual(oneText.output, "", "no partial output")
        let wrongTask = try runProgram(ServiceProcess.binary.path, ["predict", "--task", "sst2"] + checkpoint + model, input: "")
        XCTAssertTrue(wrongTask.errors.contains("trained on rte"), wrongTask.errors)

        let folder = world.root.appendingPathComponent("merged").path
        let exported = try runProgram(ServiceProcess.binary.path, ["export", "--format", "merged", "--out", folder] + checkpoint + model)
        XCTAssertEqual(exported.status, 0, exported.errors)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).sorted(),
                       ["config.json", "model.safetensors", "unipelt_export.json", "vocab.txt"])
        let intoModel = try runProgram(ServiceProcess.binary.path, ["export", "--format", "merged", "--out", folder] + checkpoint + model)
        XCTAssertNotEqual(intoModel.status, 0)
        XCTAssertTrue(intoModel.errors.contains("is not empty"), "a folder with files is never written over: \(intoModel.errors)")
        let refused = try runProgram(ServiceProcess.binary.path, ["export", "--format", "onnx", "--out", folder] + checkpoint)
        XCTAssertTrue(refused.errors.contains("unknown format 'onnx'"), refused.errors)
    }

    func testBadInputExitsNonZeroNamingTheProblem() throws {
        let out = ["--out", world.root.appendingPathComponent("refused").path]
        let missingModel = world.root.appendingPathComponent("no-such-model").path
        let cases: [(arguments: [String], status: Int32, says: String)] = [
            (["--task", "rtf", "--k", "16", "--seed", "1", "--method", "lora"] + tinyModelAndData, 2, "unknown task 'rtf'"),
            (["--task", "rte", "--k", "16", "--seed", "1", "--method", "lorra"] + tinyModelAndData, 2, "unknown method 'lorra'"),
            (["--task", "rte", "--k", "16", "--method", "lora"] + tinyModelAndData, 2, "missing --seed"),
            (["--task", "rte", "--k", "16", "--seed", "1", "--method", "lora", "--set", "learning_rat=1"] + tinyModelAndData,
             2, "unknown hyperparameter 'learning_rat'"),
            // The tiny RTE train file has 1,100 rows; 1,000 of them become the dev split.
            (["--task", "rte", "--k", "101", "--seed", "1", "--method", "lora"] + tinyModelAndData, 1, "maximum 100"),
            (["--task", "sst2", "--k", "16", "--seed", "1", "--method", "lora"] + tinyModelAndData, 1,
             world.glueDirectory + "/SST-2"),
            (["--task", "rte", "--k", "16", "--seed", "1", "--method", "lora", "--model", missingModel,
              "--glue", world.glueDirectory], 1, missingModel),
        ]
        for (arguments, status, says) in cases {
            let run = try train(arguments + out + shortRun)
            XCTAssertEqual(run.status, status, "\(arguments): \(run.errors)")
            XCTAssertTrue(run.errors.contains(says), "\(arguments) should say '\(says)': \(run.errors)")
        }
    }
}
