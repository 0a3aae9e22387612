import Foundation
import Service

// unipelt: trains parameter-efficient tuned language models as queued jobs.
let usage = """
usage: unipelt <command> [options]

commands:
  help        show this text
  tokenize    encode JSON lines of texts into BERT token ids (see `unipelt tokenize --help`)
"""

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case nil, "help", "-h", "--help":
    print(usage)
case "tokenize":
    do {
        try TokenizeCommand.run(Array(arguments.dropFirst()))
    } catch {
        FileHandle.standardError.write("unipelt tokenize: \(error)\n".data(using: .utf8)!)
        exit(1)
    }
default:
    FileHandle.standardError.write("unipelt: unknown command '\(arguments[0])'\n\n\(usage)\n".data(using: .utf8)!)
    exit(2)
}
