import Foundation
import Model
import Text
import XCTest
@testable import Training

/// The hyperparameter table is the one description of every knob: these tests hold each use derived from it
/// (defaults, checking, text parsing, JSON coding of old and new records, the help text) to the table.
final class HyperparameterTableTests: XCTestCase {
    /// `Tests/Results/table1-k100/cola-k100-s1-adapter/result.json`, written before `batching`, `split`,
    /// `prefixInit`, `gateBiasInit`, `testEveryEval` and `checkpointEverySeconds` existed.
    private let oldRecord = #"""
        {
          "result" : {
            "bestDevMetric" : 0.00822715565781046, "bestStep" : 7, "epochsRun" : 11, "k" : 100, "method" : "adapter",
            "metric" : "matthews_correlation", "seed" : 1, "stepsRun" : 77, "stoppedEarly" : true, "task" : "cola",
            "testMetric" : -0.037798835867927316, "testMetrics" : { "matthews_correlation" : -0.037798835867927316 },
            "trainableParameters" : 113810
          },
          "spec" : {
            "hyperparameters" : {
              "batchSize" : 16, "bucketWindow" : 256, "classifier" : "trained", "dropout" : true,
              "earlyStoppingPatience" : 10, "epochs" : 50, "evalEverySteps" : 0, "gatePooling" : "masked",
              "learningRate" : 0.0001, "loraRank" : 8, "maxGradNorm" : 1, "maxSeqLength" : 128, "padding" : "dynamic",
              "prefixLength" : 10, "prefixMidDim" : 512, "warmupRatio" : 0, "weightDecay" : 0
            },
            "k" : 100, "method" : "adapter", "model" : "var\/models\/minilm-l6", "seed" : 1, "task" : "cola"
          },
          "status" : "finished",
          "wallSeconds" : 65.45967435836792
        }
        """#

    func testAnOldResultDecodesToWhatItRan() throws {
        let summary = try JSONDecoder().decode(RunFiles.Summary.self, from: Data(oldRecord.utf8))
        var ran = try Hyperparameters(method: "adapter")
        ran.batching = .lengthBuckets
        ran.split = .splitmix
        ran.testEveryEval = true
        XCTAssertEqual(summary.spec.hyperparameters, ran)
        XCTAssertEqual(summary.spec.hyperparameters.prefixInit, .bert)
        XCTAssertEqual(summary.spec.hyperparameters.gateBiasInit, .zero)
        XCTAssertNil(summary.spec.hyperparameters.adapterBottleneck)
        XCTAssertNil(summary.spec.hyperparameters.checkpointEverySeconds)
    }

    func testLegacyValuesAreTheOnesOfRecordsBeforeEachKey() {
        let legacy = Dictionary(uniqueKeysWithValues: HyperparameterTable.all.compactMap { spec in
            spec.legacyValue.map { (spec.name, $0) }
        })
        XCTAssertEqual(legacy, ["batching": .string("length_buckets"), "split": .string("splitmix"),
                                "prefix_init": .string("bert"), "gate_bias_init": .string("zero"),
                                "test_every_eval": .boolean(true)])
    }

    func testARecordWithoutARequiredKeyFailsNamingIt() throws {
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(Hyperparameters(method: "lora")))
                                 as? [String: Any])
        json.removeValue(forKey: "epochs")
        XCTAssertThrowsError(try JSONDecoder().decode(Hyperparameters.self, from: JSONSerialization.data(withJSONObject: json))) {
            guard case let DecodingError.keyNotFound(key, _)? = $0 as? DecodingError else { return XCTFail("\($0)") }
            XCTAssertEqual(key.stringValue, "epochs")
        }
    }

    /// Every stored property has exactly one row, in declaration order, under its own name as the JSON key.
    func testEveryPropertyHasOneRowKeyedByItsName() throws {
        let properties = Mirror(reflecting: try Hyperparameters(method: "lora")).children.compactMap(\.label)
        XCTAssertEqual(Set(properties), Set(HyperparameterTable.all.map(\.codingKey)))
        XCTAssertEqual(properties.count, HyperparameterTable.all.count)
        XCTAssertEqual(try HyperparameterTable.spec(named: "max_seq_length").codingKey, "maxSeqLength")
        XCTAssertEqual(HyperparameterTable.spec(for: \.maxSeqLength).name, "max_seq_length")
        XCTAssertEqual(HyperparameterTable.spec(for: \.testEveryEval).name, "test_every_eval")
    }

    func testEncodingWritesEveryKeyAndReadsBackEqual() throws {
        var hp = try Hyperparameters(method: "unipelt-apl", overrides: ["adapter_bottleneck": .integer(24),
                                                                        "checkpoint_every_seconds": .number(5)])
        hp.split = .splitmix
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = try encoder.encode(hp)
        let keys = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any]).keys
        XCTAssertEqual(Set(keys), Set(HyperparameterTable.all.map(\.codingKey)))
        XCTAssertEqual(try JSONDecoder().decode(Hyperparameters.self, from: data), hp)
        let defaults = try encoder.encode(Hyperparameters(method: "lora"))
        let text = String(decoding: defaults, as: UTF8.self)
        XCTAssertFalse(text.contains("adapterBottleneck"), "a derived default is left out, as before")
        XCTAssertTrue(text.hasPrefix(#"{"batchSize":16,"batching":"shuffle","bucketWindow":256,"classifier":"trained""#), text)
    }

    /// Each row's kind follows its property's type, and every default passes its own row's check.
    func testDefaultsPassTheirRowsAndSetWritesThroughTheKeyPath() throws {
        for method in HyperparameterTable.methods {
            var hp = try Hyperparameters(method: method)
            for spec in HyperparameterTable.all {
                guard let value = spec.defaultValue(for: method) else { continue }
                XCTAssertEqual(try spec.kind.admit(value), value, "\(method) \(spec.name)")
                try hp.set(spec.name, value)
            }
            XCTAssertEqual(hp, try Hyperparameters(method: method))
        }
        var hp = try Hyperparameters(method: "lora")
        try hp.set("split", .string("splitmix"))
        try hp.set("checkpoint_every_seconds", .integer(30))
        XCTAssertEqual(hp.split, .splitmix)
        XCTAssertEqual(hp.checkpointEverySeconds, 30)
    }

    func testAdmitSaysWhyAValueIsRefused() {
        XCTAssertThrowsError(try HyperparameterKind.integer(1...10).admit(.string("3"))) {
            XCTAssertEqual($0 as? HyperparameterKind.Mismatch, .type)
        }
        XCTAssertThrowsError(try HyperparameterKind.integer(1...10).admit(.number(2.5))) {
            XCTAssertEqual($0 as? HyperparameterKind.Mismatch, .value)
        }
        XCTAssertThrowsError(try HyperparameterKind.choice(["a"]).admit(.string("b"))) {
            XCTAssertEqual($0 as? HyperparameterKind.Mismatch, .value)
        }
        XCTAssertEqual(try HyperparameterKind.number(0...1).admit(.integer(1)), .number(1))
        XCTAssertEqual(try HyperparameterKind.integer(0...9).admit(.number(3)), .integer(3))
        XCTAssertThrowsError(try Hyperparameters(method: "lora", settings: [("batching", "sorted")])) { error in
            guard case let .invalidHyperparameter(name, value, expected)? = error as? TrainingError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual([name, value, expected], ["batching", "sorted", "one of shuffle, length_buckets"])
        }
    }

    func testDefaultDescriptionsForTheHelpListing() throws {
        XCTAssertEqual(try HyperparameterTable.spec(named: "epochs").defaultDescription, "50")
        XCTAssertEqual(try HyperparameterTable.spec(named: "adapter_bottleneck").defaultDescription, "derived")
        XCTAssertEqual(try HyperparameterTable.spec(named: "learning_rate").defaultDescription,
                       "by method (finetune 2e-05, bitfit 0.0001, adapter 0.0001, prefix 0.0002, lora 0.0005, "
                       + "unipelt-ap 0.0005, unipelt-apl 0.0005, unipelt-apl-nogate 0.0005)")
        XCTAssertEqual(try HyperparameterTable.spec(named: "split").kind, .choice(SplitKind.allCases.map(\.rawValue)))
    }
}
