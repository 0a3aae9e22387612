import Foundation
import Service

// unipelt: trains parameter-efficient tuned language models as queued jobs.
let usage = """
usage: unipelt <command> [options]

commands:
  help        show this text
  bench step  time training steps per method (see `unipelt bench step --help`)
"""

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case nil, "help", "-h", "--help":
    print(usage)
case "bench" where arguments.dropFirst().first == "step":
    let options = Array(arguments.dropFirst(2))
    if options.contains("--help") || options.contains("-h") { print(BenchStepCommand.usage); exit(0) }
    do {
        try BenchStepCommand.run(options)
    } catch {
        FileHandle.standardError.write("unipelt bench step: \(error)\n\n\(BenchStepCommand.usage)\n".data(using: .utf8)!)
        exit(2)
    }
default:
    FileHandle.standardError.write("unipelt: unknown command '\(arguments[0])'\n\n\(usage)\n".data(using: .utf8)!)
    exit(2)
}
