import Foundation
import XCTest
@testable import Service
import Training
import TestSupport

/// The service's uses of the trainer's hyperparameter table: request validation (the trainer's own check,
/// errors in the service's words), stored job specs, the OpenAPI schema and the command line's `--set`.
final class HyperparameterContractTests: XCTestCase {
    private func message(_ rule: ValueRule, _ json: String) -> String? {
        do {
            _ = try rule.validate(try JSONParser.parse(Array(json.utf8)), at: "hyperparameters.x")
            return nil
        } catch let error as APIError {
            XCTAssertEqual(error.param, "hyperparameters.x")
            XCTAssertEqual(error.code, "invalid_value")
            XCTAssertTrue(error.message.hasPrefix("hyperparameters.x: "), error.message)
            return String(error.message.dropFirst("hyperparameters.x: ".count))
        } catch {
            return "\(error)"
        }
    }

    func testRequestValuesAreCheckedByTheTrainersRuleInTheServicesWords() {
        XCTAssertNil(message(.integer(1...1000), "3"))
        XCTAssertNil(message(.integer(1...1000), "3.0"))
        XCTAssertNil(message(.number(0...1), "1"))
        XCTAssertNil(message(.boolean, "false"))
        XCTAssertEqual(message(.integer(1...1000), "0"), "expected an integer from 1 to 1000, got 0")
        XCTAssertEqual(message(.integer(1...1000), "2.5"), "expected an integer from 1 to 1000, got 2.5")
        XCTAssertEqual(message(.integer(1...1000), #""ten""#), "expected an integer from 1 to 1000, got string")
        XCTAssertEqual(message(.number(0...1), "[1]"), "expected a number from 0.0 to 1.0, got array")
        XCTAssertEqual(message(.choice(["dynamic", "max_length"]), #""fixed""#),
                       #"unknown value "fixed"; expected one of dynamic, max_length"#)
        XCTAssertEqual(message(.choice(["dynamic"]), "1"), "expected one of dynamic, got number")
        XCTAssertEqual(message(.boolean, "null"), "expected true or false, got null")
        // Whatever the service admits, the trainer admits too.
        for spec in HyperparameterTable.all {
            guard let value = spec.defaultValue(for: "lora") else { continue }
            let json = JSONValue(value)
            XCTAssertNoThrow(try spec.kind.validate(json, at: spec.name))
            XCTAssertNoThrow(try Hyperparameters(method: "lora", overrides: [spec.name: HyperparameterValue(json)!]))
        }
    }

    func testAStoredJobSpecResolvesThroughTheTable() throws {
        let spec = try JobSpecCoding.trainingSpec(fromStored: #"{"task":"rte","k":100,"seed":1,"method":"prefix","model":"default","hyperparameters":{"epochs":3,"padding":"max_length","dropout":false,"warmup_ratio":0}}"#)
        var expected = try Hyperparameters(method: "prefix")
        expected.epochs = 3
        expected.padding = .maxLength
        expected.dropout = false
        XCTAssertEqual(spec.hyperparameters, expected)
        XCTAssertThrowsError(try JobSpecCoding.trainingSpec(fromStored: #"{"task":"rte","k":100,"seed":1,"method":"lora","model":"default","hyperparameters":{"epochs":[3]}}"#))
    }

    func testTheOpenAPIDocumentDescribesEveryHyperparameter() throws {
        let document = try JSONSerialization.jsonObject(with: Data(OpenAPI.document([], version: "v").serialized().utf8))
        let schema = try XCTUnwrap(((document as? [String: Any])?["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let hyperparameters = try XCTUnwrap(schema["Hyperparameters"] as? [String: Any])
        let properties = try XCTUnwrap(hyperparameters["properties"] as? [String: [String: Any]])
        XCTAssertEqual(Set(properties.keys), Set(HyperparameterTable.names))
        XCTAssertEqual(properties["epochs"]?["type"] as? String, "integer")
        XCTAssertEqual(properties["epochs"]?["minimum"] as? Int, 1)
        XCTAssertEqual(properties["epochs"]?["maximum"] as? Int, 1000)
        XCTAssertEqual(properties["epochs"]?["default"] as? Int, 50)
        XCTAssertNil(properties["learning_rate"]?["default"], "no one default when it differs by method")
        XCTAssertNil(properties["adapter_bottleneck"]?["default"], "nor when it is derived")
        XCTAssertEqual(properties["batching"]?["enum"] as? [String], ["shuffle", "length_buckets"])
        XCTAssertEqual(properties["dropout"]?["type"] as? String, "boolean")
        XCTAssertTrue((properties["learning_rate"]?["description"] as? String)?.contains("finetune 2e-05") ?? false)
    }

    func testSetHelpListsTheTableAndSetIsCheckedByIt() throws {
        let binary = ServiceProcess.binary.path
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw XCTSkip("unipelt binary not found at \(binary)") }
        let help = try runProgram(binary, ["train", "--set", "help"])
        XCTAssertEqual(help.status, 0, help.errors)
        let lines = help.output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.map { String($0.prefix { $0 != ":" }) }, HyperparameterTable.names)
        XCTAssertTrue(lines.contains("epochs: an integer from 1 to 1000; default 50. maximum passes over the K training examples"),
                      help.output)
        let unknown = try runProgram(binary, ["train", "--task", "rte", "--k", "8", "--seed", "1", "--method", "lora", "--set", "lr=1"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.errors.contains("unknown hyperparameter 'lr'; allowed keys: learning_rate, epochs"), unknown.errors)
        let invalid = try runProgram(binary, ["train", "--task", "rte", "--k", "8", "--seed", "1", "--method", "lora",
                                              "--set", "epochs=0", "--model", "/nonexistent"])
        XCTAssertEqual(invalid.status, 1)
        XCTAssertTrue(invalid.errors.contains("hyperparameter epochs = 0 is invalid: expected an integer from 1 to 1000"),
                      invalid.errors)
    }
}
