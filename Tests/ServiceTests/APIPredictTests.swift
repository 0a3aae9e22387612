import Foundation
import Checksum
import JobStore
import Model
@testable import Service
import Text
@testable import Training
import TestSupport
import XCTest

/// `POST /v1/jobs/{id}/predict` on jobs trained in-process on the tiny model and recorded in the store as a
/// worker would.
final class APIPredictTests: APITestCase {
    private static let world = try! TinyWorld()
    private static let models = ModelLibrary(directory: world.modelDirectory, defaultName: "tiny")
    private static let limits = Predictor.Limits(maxInputs: 8, maxTextCharacters: 200)
    private lazy var shared = Inference(models: Self.models, cacheCapacity: 2, limits: Self.limits,
                                        exportDirectory: directory.appendingPathComponent("exports").path)
    override var inference: Inference? { shared }

    override class func tearDown() {
        world.remove()
        super.tearDown()
    }

    /// Creates a job over the API, trains it here for one epoch and records its best checkpoint.
    private func trainedJob(_ method: String, task: GLUETask = .rte) throws -> (id: String, trainer: Trainer) {
        let created = try post("/v1/jobs", #"{"task": "\#(task.rawValue)", "k": 16, "seed": 1, "method": "\#(method)", "hyperparameters": {"epochs": 1}}"#)
        XCTAssertEqual(created.status, 201, created.text)
        let id = created.json()["id"] as! String
        let claimed = try XCTUnwrap(try claim())
        let spec = try TrainingSpec(task: task.rawValue, k: 16, seed: 1, method: method, model: "default",
                                    overrides: ["epochs": .integer(1), "max_seq_length": .integer(64)])
        let base = try Self.models.load("default")
        let trainer = try Trainer(spec: spec, backbone: base.backbone, tokenizer: base.tokenizer,
                                  glueDirectory: Self.world.glueDirectory, checkpointDirectory: checkpointRoot + "/" + id)
        _ = try trainer.run()
        let path = trainer.checkpointPath("best")!
        let bytes = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        _ = try store.write {
            try $0.recordCheckpoint(claimed.lease, NewCheckpoint(name: "best", step: 1, path: path, bytes: bytes,
                                                                 sha256: try SHA256.hex(fileAt: path)),
                                    isBest: true, now: clock.now)
        }
        return (id, trainer)
    }

    /// The job's first dev examples and the logits evaluation computes for them (its batching, its model).
    private func devExamplesAndEvaluationLogits(_ trainer: Trainer, count: Int) throws -> ([GLUEExample], [[Float]]) {
        let dataset = try GLUEDataset.load(task: trainer.task, glueDirectory: URL(fileURLWithPath: Self.world.glueDirectory))
        let hp = trainer.spec.hyperparameters
        let examples = Array(try KShotSplit.make(dataset: dataset, size: .k(16), seed: 1, kind: hp.split).dev.prefix(count))
        let base = try Self.models.load("default")
        let split = EncodedSplit(examples, tokenizer: base.tokenizer, maxSeqLength: hp.maxSeqLength)
        let labels = trainer.task.numberOfLabels
        let evaluator = try Evaluator(trained: trainer.model, task: trainer.task, job: hp, padId: base.tokenizer.padId)
        let flat = try evaluator.logits(split, plan: EvaluationPlan(lengths: split.lengths, job: hp))
        return (examples, (0..<count).map { Array(flat[$0 * labels..<($0 + 1) * labels]) })
    }

    func testPredictGivesEvaluationsLogitsAndKeepsOneModelLoaded() throws {
        let (id, trainer) = try trainedJob("unipelt-apl")
        let (examples, expected) = try devExamplesAndEvaluationLogits(trainer, count: Self.limits.maxInputs)
        let inputs = examples.map { [$0.text, $0.pair!] }
        let body = String(decoding: try JSONSerialization.data(withJSONObject: ["inputs": inputs, "checkpoint": "best"]), as: UTF8.self)
        for _ in 0..<2 {
            let response = try post("/v1/jobs/\(id)/predict", body)
            XCTAssertEqual(response.status, 200, response.text)
            let data = try XCTUnwrap(response.json()["data"] as? [[String: Any]])
            XCTAssertEqual(data.map { ($0["logits"] as! [Double]).map(Float.init) }, expected)
            for prediction in data {
                let probabilities = try XCTUnwrap(prediction["probabilities"] as? [String: Double])
                XCTAssertEqual(Set(probabilities.keys), ["entailment", "not_entailment"])
                XCTAssertEqual(prediction["label"] as? String, probabilities.max { $0.value < $1.value }!.key)
            }
        }
        XCTAssertEqual(shared.predictors.keys.count, 1, "a second request reuses the loaded model")
        XCTAssertGreaterThan(shared.predictors.totalCost, 0, "a predictor's own memory is counted")
    }

    func testBadInputsGet4xxNamingTheField() throws {
        let (id, _) = try trainedJob("lora")
        let long = String(repeating: "w1 ", count: 100)
        let cases: [(body: String, status: Int, param: String)] = [
            (#"{}"#, 400, "inputs"),
            (#"{"inputs": "w1 w2"}"#, 400, "inputs"),
            (#"{"inputs": []}"#, 400, "inputs"),
            (#"{"inputs": [["w1", "w2"], ["w1", "w2", "w3"]]}"#, 400, "inputs[1]"),
            (#"{"inputs": [["w1", "w2"], ["w2", 3]]}"#, 400, "inputs[1][1]"),
            (#"{"inputs": [["w1", "w2"], {"text": "w2"}]}"#, 400, "inputs[1]"),
            // RTE takes a sentence pair: one text is refused, not scored as an input the model never saw.
            (#"{"inputs": [["w1", "w2"], ["w1"]]}"#, 400, "inputs[1]"),
            (#"{"inputs": [["w1", "w2"], ["w2", "\#(long)"]]}"#, 400, "inputs[1][1]"),
            (#"{"inputs": [\#(Array(repeating: #"["w1", "w2"]"#, count: 9).joined(separator: ","))]}"#, 400, "inputs"),
            (#"{"inputs": [["w1", "w2"]], "checkpoint": "first"}"#, 400, "checkpoint"),
            (#"{"inputs": [["w1", "w2"]], "checkpoint": "last"}"#, 409, "checkpoint"),
            (#"{"inputs": [["w1", "w2"]], "temperature": 2}"#, 400, "temperature"),
        ]
        for (body, status, param) in cases {
            let response = try post("/v1/jobs/\(id)/predict", body)
            XCTAssertEqual(response.status, status, body)
            let error = response.json()["error"] as? [String: Any]
            XCTAssertEqual(error?["param"] as? String, param, body)
        }
        let unknown = try post("/v1/jobs/job_000000000000000000000000/predict", #"{"inputs": [["w1"]]}"#)
        XCTAssertEqual(unknown.status, 404)
    }

    /// The files of a ustar stream, by name, with each header's checksum checked.
    private func untar(_ bytes: [UInt8]) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        var offset = 0
        func field(_ start: Int, _ width: Int) -> String {
            String(decoding: bytes[offset + start..<offset + start + width].prefix { $0 != 0 }, as: UTF8.self)
        }
        while offset + 512 <= bytes.count, bytes[offset..<offset + 512].contains(where: { $0 != 0 }) {
            let size = try XCTUnwrap(Int(field(124, 12).trimmingCharacters(in: .whitespaces), radix: 8))
            var header = Array(bytes[offset..<offset + 512])
            header.replaceSubrange(148..<156, with: Array(repeating: UInt8(ascii: " "), count: 8))
            XCTAssertEqual(Int(field(148, 6), radix: 8), header.reduce(0) { $0 + Int($1) }, "header checksum")
            XCTAssertEqual(field(257, 5), "ustar")
            files[field(0, 100)] = Array(bytes[offset + 512..<offset + 512 + size])
            offset += 512 + (size + 511) / 512 * 512
        }
        XCTAssertEqual(bytes.count, offset + 1024, "two zero blocks end the archive")
        return files
    }

    func testExportStreamsTheFolderAsTarAndRefusesWhatAFormatCannotExpress() throws {
        let (id, trainer) = try trainedJob("lora")
        let response = try get("/v1/jobs/\(id)/export?format=peft")
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(response.headers["content-type"], "application/x-tar")
        let files = try untar(response.body)
        let folder = "\(id)-peft/"
        XCTAssertEqual(Set(files.keys), Set(["adapter_config.json", "adapter_model.safetensors", "unipelt_export.json"].map { folder + $0 }))
        let config = try JSONSerialization.jsonObject(with: Data(files[folder + "adapter_config.json"]!)) as! [String: Any]
        XCTAssertEqual(config["peft_type"] as? String, "LORA")
        XCTAssertEqual(config["modules_to_save"] as? [String], ["classifier"])
        let metadata = try JSONSerialization.jsonObject(with: Data(files[folder + "unipelt_export.json"]!)) as! [String: Any]
        XCTAssertEqual(metadata["method"] as? String, "lora")
        XCTAssertEqual(metadata["base_model"] as? String, "tiny")
        XCTAssertEqual(metadata["metric"] as? String, trainer.task.primaryMetric.rawValue)
        XCTAssertEqual((metadata["spec"] as? [String: Any])?["task"] as? String, "rte")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: shared.exportDirectory), [],
                       "the exported folder is removed once streamed")
        // HEAD streams no body, so it must not export anything that nobody would then remove.
        let head = try send("HEAD", "/v1/jobs/\(id)/export?format=peft")
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.headers["content-disposition"], "attachment; filename=\"\(id)-peft.tar\"")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: shared.exportDirectory), [],
                       "a HEAD request leaves no export behind")

        for (query, param) in [("format=onnx", "format"), ("", "format"),
                               ("format=peft&checkpoint=last", "checkpoint")] {
            let refused = try get("/v1/jobs/\(id)/export?\(query)")
            XCTAssertTrue((400..<500).contains(refused.status), query)
            XCTAssertEqual((refused.json()["error"] as? [String: Any])?["param"] as? String, param, query)
        }
        let (apl, _) = try trainedJob("unipelt-apl")
        for (format, reason) in [("merged", "adapter or a prefix"), ("peft", "ungated LoRA only")] {
            let refused = try get("/v1/jobs/\(apl)/export?format=\(format)")
            XCTAssertEqual(refused.status, 400)
            let error = refused.json()["error"] as? [String: Any]
            XCTAssertEqual(error?["param"] as? String, "format")
            XCTAssertTrue((error?["message"] as? String ?? "").contains(reason), format)
            let head = try send("HEAD", "/v1/jobs/\(apl)/export?format=\(format)")
            XCTAssertEqual(head.status, 400, "HEAD refuses what GET refuses (\(format))")
        }
    }

    /// A checkpoint of a job created before jobs recorded their model's name names it `default`; on the command
    /// line that is the built-in default model under `var/models`, not a folder called `default`.
    func testACheckpointOfTheDefaultModelOpensAsTheBuiltInDefaultOnTheCommandLine() throws {
        let (_, trainer) = try trainedJob("lora")
        XCTAssertEqual(trainer.spec.model, "default")
        let elsewhere = try TemporaryDirectory("no-models")
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(elsewhere.url.path))
        defer {
            FileManager.default.changeCurrentDirectoryPath(previous)
            elsewhere.remove()
        }
        XCTAssertThrowsError(try TrainedModel.open(checkpointPath: trainer.checkpointPath("best")!, modelDirectory: nil)) { error in
            XCTAssertTrue("\(error)".contains("\"\(Config().defaultModel)\" is not installed in var/models"), "\(error)")
        }
    }

    func testTheModelCacheIsBounded() throws {
        let cache = LRUCache<String, Int>(capacity: 2)
        var loads = 0
        for key in ["a", "b", "a", "c", "a", "b"] { _ = cache.value(for: key) { loads += 1; return loads } }
        XCTAssertEqual(cache.keys, ["a", "b"], "least recently used first; c was evicted by b")
        XCTAssertEqual(loads, 4, "a stayed loaded while it was used")

        let sized = LRUCache<String, Int>(capacity: 10, budget: 100, cost: { $0 })
        for (key, cost) in [("a", 40), ("b", 40), ("c", 40), ("d", 500)] { _ = sized.value(for: key) { cost } }
        XCTAssertEqual(sized.keys, ["d"], "over budget, only the newest stays")
        _ = sized.value(for: "e") { 30 }
        _ = sized.value(for: "f") { 30 }
        XCTAssertEqual(sized.keys, ["e", "f"])
        XCTAssertEqual(sized.totalCost, 60)
    }
}
