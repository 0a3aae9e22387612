import XCTest
@testable import Service

final class SweepSpecTests: XCTestCase {
    /// The API tests' vocabulary, with a cap small enough to test the job limit.
    private let vocabulary = {
        var vocabulary = APITestCase.vocabulary
        vocabulary.maxJobsPerSweep = 100
        return vocabulary
    }()

    private func validate(_ json: String) throws -> SweepSpec {
        try SweepSpec.validate(try JSONParser.parse(Array(json.utf8)), vocabulary: vocabulary)
    }

    private func assertAPIError(_ json: String, code: String, param: String?, mentions: String? = nil,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try validate(json), file: file, line: line) { error in
            guard let error = error as? APIError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(error.status.code, 400, file: file, line: line)
            XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
            XCTAssertEqual(error.param, param, "\(error)", file: file, line: line)
            if let mentions { XCTAssertTrue(error.message.contains(mentions), "\(error)", file: file, line: line) }
        }
    }

    func testExpandsTheGridInTaskKSeedMethodOrder() throws {
        let spec = try validate(#"{"name": "t1", "tasks": ["rte", "sst2"], "k": [100, "all"], "seeds": [1, 2], "methods": ["lora", "unipelt-apl"], "hyperparameters": {"epochs": 3}, "metadata": {"owner": "ab"}}"#)
        XCTAssertEqual(spec.cells.count, 16)
        XCTAssertEqual(spec.keys.count, Set(spec.keys).count)
        XCTAssertEqual(spec.keys.first, "rte/K=100/seed=1/lora")
        XCTAssertEqual(spec.keys[1], "rte/K=100/seed=1/unipelt-apl")
        XCTAssertEqual(spec.keys.last, "sst2/K=all/seed=2/unipelt-apl")
        XCTAssertEqual(spec.cells[0].hyperparameters.map(\.name), ["epochs"])
        XCTAssertEqual(spec.cells[0].model, "minilm-l6", "no model named: the default model's name")
        XCTAssertEqual(spec.maxAttempts, 3)
        XCTAssertFalse(spec.dryRun)
        XCTAssertEqual(spec.metadata.map(\.key), ["owner"])
    }

    func testASweepWithoutSeedsRunsThePapersFive() throws {
        let spec = try validate(#"{"tasks": ["rte"], "k": [100], "methods": ["lora"]}"#)
        XCTAssertEqual(spec.cells.map(\.seed), [1, 2, 3, 4, 5])
    }

    func testScalarsAreOneValueAxesAndVaryingHyperparametersEnterTheKey() throws {
        let spec = try validate(#"{"tasks": "rte", "k": 100, "seeds": 1, "methods": "lora", "hyperparameters": {"learning_rate": [1e-4, 5e-4], "batch_size": 16}, "dry_run": true}"#)
        XCTAssertEqual(spec.keys, ["rte/K=100/seed=1/lora/learning_rate=0.0001", "rte/K=100/seed=1/lora/learning_rate=0.0005"])
        XCTAssertTrue(spec.dryRun)
    }

    func testErrorsNameTheOffendingField() {
        assertAPIError(#"{"tasks": ["rte"], "k": [100], "seeds": [1], "methods": ["lora", "adapter", "lora2"]}"#,
                       code: "invalid_value", param: "methods[2]", mentions: "unipelt-apl-nogate")
        assertAPIError(#"{"tasks": ["rte"], "k": [0], "seeds": [1], "methods": ["lora"]}"#,
                       code: "invalid_value", param: "k[0]")
        assertAPIError(#"{"tasks": ["rte"], "k": ["some"], "seeds": [1], "methods": ["lora"]}"#,
                       code: "invalid_value", param: "k[0]", mentions: "\"all\"")
        assertAPIError(#"{"tasks": ["rte"], "k": [100], "seed": [1], "methods": ["lora"]}"#,
                       code: "unknown_parameter", param: "seed", mentions: "seeds")
        assertAPIError(#"{"tasks": ["wnli"], "k": [100], "seeds": [1], "methods": ["lora"]}"#,
                       code: "invalid_value", param: "tasks[0]", mentions: "sst2")
        assertAPIError(#"{"tasks": [], "k": [100], "seeds": [1], "methods": ["lora"]}"#,
                       code: "invalid_value", param: "tasks")
        assertAPIError(#"{"tasks": ["rte"], "k": [100], "seeds": [1.5], "methods": ["lora"]}"#,
                       code: "invalid_value", param: "seeds[0]")
        assertAPIError(#"{"tasks": ["rte"], "k": [100], "seeds": [1], "methods": ["lora"], "hyperparameters": {"lr": 1e-4}}"#,
                       code: "unknown_parameter", param: "hyperparameters.lr", mentions: "hyperparameters.learning_rate")
        assertAPIError(#"{"tasks": ["rte"], "k": [100], "seeds": [1], "methods": ["lora"], "hyperparameters": {"padding": ["dynamic", "fixed"]}}"#,
                       code: "invalid_value", param: "hyperparameters.padding[1]", mentions: "max_length")
        assertAPIError(#"{"tasks": ["rte"], "k": [100], "seeds": [1], "methods": ["lora"], "hyperparameters": {"epochs": "ten"}}"#,
                       code: "invalid_value", param: "hyperparameters.epochs", mentions: "string")
        assertAPIError(#"{"tasks": ["rte"], "k": [100], "seeds": [1], "methods": ["lora"], "model": "bert-huge"}"#,
                       code: "invalid_value", param: "model")
        assertAPIError(#"{"tasks": ["rte"], "k": [100], "seeds": [1], "methods": ["lora"], "dry_run": "yes"}"#,
                       code: "invalid_value", param: "dry_run")
        assertAPIError(#"["rte"]"#, code: "invalid_value", param: "body")
    }

    func testJobCountCapAndRepeatedValues() {
        assertAPIError(#"{"tasks": ["rte", "sst2"], "k": [100, 500], "seeds": [1,2,3,4,5], "methods": ["lora", "adapter", "prefix"], "hyperparameters": {"epochs": [1, 2]}}"#,
                       code: "too_many_jobs", param: nil, mentions: "120 jobs")
        assertAPIError(#"{"tasks": ["rte", "rte"], "k": [100], "seeds": [1], "methods": ["lora"]}"#,
                       code: "invalid_value", param: "tasks[1]", mentions: "repeats tasks[0]")
        assertAPIError(#"{"tasks": ["rte"], "k": [100, 50, 100], "seeds": [1], "methods": ["lora"]}"#,
                       code: "invalid_value", param: "k[2]", mentions: "repeats k[0]")
        assertAPIError(#"{"tasks": ["rte"], "k": [100], "seeds": [1], "methods": ["lora"], "hyperparameters": {"learning_rate": [1e-4, 0.0001]}}"#,
                       code: "invalid_value", param: "hyperparameters.learning_rate[1]")
    }

    /// A K that leaves a task's train file fewer rows than the dev set needs would fail every job it makes: it is
    /// refused before anything is stored, naming the K, the task and the largest K.
    func testAKTooLargeForATasksTrainFileIsRefused() throws {
        var vocabulary = self.vocabulary
        vocabulary.maximumK = { $0 == "rte" ? 1490 : nil }
        let body = { (k: String) in
            try JSONParser.parse(Array(#"{"tasks": ["sst2", "rte"], "k": \#(k), "seeds": [1], "methods": ["lora"]}"#.utf8))
        }
        XCTAssertThrowsError(try SweepSpec.validate(try body(#"[100, 2000]"#), vocabulary: vocabulary)) { error in
            XCTAssertEqual((error as? APIError)?.param, "k[1]")
            XCTAssertEqual((error as? APIError)?.code, "invalid_value")
            XCTAssertTrue((error as? APIError)?.message.contains("rte") == true && (error as? APIError)?.message.contains("at most 1490") == true,
                          "\(error)")
        }
        XCTAssertEqual(try SweepSpec.validate(try body(#"[1490, "all"]"#), vocabulary: vocabulary).cells.count, 4)
        // A train file smaller than the dev set leaves only "all".
        vocabulary.maximumK = { $0 == "rte" ? -600 : nil }
        XCTAssertThrowsError(try SweepSpec.validate(try body(#"[1]"#), vocabulary: vocabulary)) { error in
            XCTAssertTrue((error as? APIError)?.message.contains("400 usable rows") == true, "\(error)")
            XCTAssertTrue((error as? APIError)?.message.contains(#"only "all" can run on rte"#) == true, "\(error)")
        }
        XCTAssertEqual(try SweepSpec.validate(try body(#"["all"]"#), vocabulary: vocabulary).cells.count, 2)
    }

    func testUninstalledTasksAndModelsAreRefusedNamingTheField() throws {
        var vocabulary = self.vocabulary
        vocabulary.missingTasks = ["sst2": "install sst2 like this"]
        vocabulary.missingModels = ["default": "install the default model like this"]
        let body = { (tasks: String, model: String) in
            try JSONParser.parse(Array(#"{"tasks": \#(tasks), "k": [100], "seeds": [1], "methods": ["lora"], "model": "\#(model)"}"#.utf8))
        }
        XCTAssertThrowsError(try SweepSpec.validate(try body(#"["rte", "sst2"]"#, "minilm-l6"), vocabulary: vocabulary)) { error in
            XCTAssertEqual(error as? APIError, APIError.notInstalled("tasks[1]", "install sst2 like this"))
            XCTAssertEqual((error as? APIError)?.status.code, 422)
        }
        XCTAssertThrowsError(try SweepSpec.validate(try body(#"["rte"]"#, "default"), vocabulary: vocabulary)) { error in
            XCTAssertEqual(error as? APIError, APIError.notInstalled("model", "install the default model like this"))
        }
        XCTAssertEqual(try SweepSpec.validate(try body(#"["rte"]"#, "minilm-l6"), vocabulary: vocabulary).cells.count, 1)
    }

    /// `default`, named or not, is recorded as the default model's folder name, so that changing `default_model` later
    /// changes neither queued jobs nor the base model of trained ones; another name stays as named.
    func testTheDefaultModelIsRecordedByItsName() throws {
        var vocabulary = self.vocabulary
        vocabulary.models = ["default", "minilm-l6", "bert-small"]
        let model = { (field: String) in
            try SweepSpec.validate(try JSONParser.parse(Array(#"{"tasks": ["rte"], "k": [100], "seeds": [1], "methods": ["lora"]\#(field)}"#.utf8)),
                                   vocabulary: vocabulary).cells[0].model
        }
        XCTAssertEqual(try model(""), "minilm-l6")
        XCTAssertEqual(try model(#", "model": "default""#), "minilm-l6")
        XCTAssertEqual(try model(#", "model": "bert-small""#), "bert-small")
        vocabulary.defaultModel = "bert-small"
        XCTAssertEqual(try model(#", "model": "default""#), "bert-small")
    }
}
