import Foundation
import Model
import Service

/// `unipelt export`: a trained checkpoint as a folder Python loads — the service's export route without the server.
enum ExportCommand: CLICommand {
    static let name = "export"
    static let summary = "write a trained checkpoint as a PEFT, adapters or merged HF folder"
    static let usage = """
    usage: unipelt export --checkpoint FILE [--model DIR] --format FORMAT --out DIR

      --checkpoint FILE   a job's best or last .safetensors
      --model DIR         the base model folder [the one the job was trained on]
      --format FORMAT     peft      LoRA as a PEFT adapter (PeftModel.from_pretrained)
                          adapters  adapter, prefix, LoRA, UniPELT for AdapterHub adapters (BertAdapterModel.load_adapter)
                          merged    finetune, BitFit, LoRA folded into a plain BertForSequenceClassification
      --out DIR           the folder to write: new or empty (created if needed)
    """

    static func run(_ arguments: [String]) throws {
        let values = try ValueOptions(arguments, allowed: ["--checkpoint", "--model", "--format", "--out"],
                                      required: ["--checkpoint", "--format", "--out"], usage: usage)
        guard let format = ExportFormat(rawValue: values["--format"]!) else {
            throw ValueOptions.UsageError(description: "unknown format '\(values["--format"]!)'; expected one of "
                                          + ExportFormat.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let out = values["--out"]!
        // Writing into a folder that holds files would mix two models (or overwrite a base model's own files).
        if let present = try? FileManager.default.contentsOfDirectory(atPath: out), !present.isEmpty {
            throw ValueOptions.UsageError(description: "--out: \(out) is not empty; export into a new or empty folder")
        }
        let trained = try TrainedModel.open(checkpointPath: values["--checkpoint"]!, modelDirectory: values["--model"])
        for file in try trained.export(format, to: out) { print(out + "/" + file) }
    }
}
