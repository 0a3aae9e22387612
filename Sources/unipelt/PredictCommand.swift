import Foundation
import Service
import Text
import Training

/// `unipelt predict`: a trained checkpoint on texts from standard input, one JSON line in, one out — the
/// service's predict route without the server.
enum PredictCommand: CLICommand {
    static let name = "predict"
    static let summary = "run a trained checkpoint on JSON lines of texts"
    static let usage = """
    usage: unipelt predict --checkpoint FILE [--model DIR] [--task TASK]

    Reads JSON lines from standard input, each an array of as many texts as the checkpoint's task takes:
      ["A sentence."]                       sst2, cola
      ["A premise.", "A hypothesis."]       mrpc, qqp, stsb, qnli, rte, mnli
    and writes one JSON line per input: the label, the class probabilities (or the score for stsb) and the logits.
    A line of another shape stops the command before anything is predicted, with an error naming the line.

    options:
      --checkpoint FILE   a job's best or last .safetensors
      --model DIR         the base model folder [the one the job was trained on]
      --task TASK         check that the checkpoint was trained on TASK
    """

    static func run(_ arguments: [String]) throws {
        let values = try ValueOptions(arguments, allowed: ["--checkpoint", "--model", "--task"],
                                      required: ["--checkpoint"], usage: usage)
        let trained = try TrainedModel.open(checkpointPath: values["--checkpoint"]!, modelDirectory: values["--model"])
        let task = trained.checkpoint.task
        if let asked = values["--task"], asked != task.rawValue {
            throw ValueOptions.UsageError(description: "the checkpoint was trained on \(task.rawValue), not \(asked)")
        }
        let predictor = try trained.predictor()

        var inputs: [PredictionInput] = []
        let lines = FileHandle.standardInput.readDataToEndOfFile().split(separator: UInt8(ascii: "\n"),
                                                                          omittingEmptySubsequences: false)
        // Every line is checked before anything is predicted, so an error names its line and no output is partial.
        for (number, line) in lines.enumerated() where !line.allSatisfy({ [9, 13, 32].contains($0) }) {
            let input = try PredictionJSON.input(try JSONParser.parse(line), at: "line \(number + 1)")
            try predictor.validate(input, field: "line \(number + 1)")
            inputs.append(input)
        }
        // In requests of the service's size, so each is batched as the API would batch it.
        var index = 0
        for start in stride(from: 0, to: inputs.count, by: predictor.limits.maxInputs) {
            var output: [UInt8] = []
            for prediction in try predictor.predict(Array(inputs[start..<min(start + predictor.limits.maxInputs, inputs.count)])) {
                output += try PredictionJSON.encode(PredictionJSON.Object(prediction, index: index, task: task)) + [10]
                index += 1
            }
            FileHandle.standardOutput.write(Data(output))
        }
    }
}
