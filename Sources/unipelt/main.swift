import Foundation
import Service

// unipelt: trains parameter-efficient tuned language models as queued jobs.
let usage = """
usage: unipelt <command> [options]

commands:
  help        show this text
\(storeCommandsUsage)
"""

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case nil, "help", "-h", "--help":
    print(usage)
case "migrate":
    exit(runMigrate(Array(arguments.dropFirst())))
case "bench" where arguments.dropFirst().first == "store":
    exit(runStoreBench(Array(arguments.dropFirst(2))))
default:
    FileHandle.standardError.write("unipelt: unknown command '\(arguments[0])'\n\n\(usage)\n".data(using: .utf8)!)
    exit(2)
}
