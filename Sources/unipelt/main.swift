import Foundation
import Service

// unipelt: trains parameter-efficient tuned language models as queued jobs.
let usage = """
usage: unipelt <command> [options]

commands:
  help        show this text
  bench http  serve a small JSON route for wrk (see `unipelt bench http --help`)
"""

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case nil, "help", "-h", "--help":
    print(usage)
case "bench" where arguments.dropFirst().first == "http":
    if arguments.contains("--help") {
        print(BenchHTTPCommand.usage)
    } else {
        do { try BenchHTTPCommand.run(Array(arguments.dropFirst(2))) } catch {
            FileHandle.standardError.write("unipelt bench http: \(error)\n".data(using: .utf8)!)
            exit(2)
        }
    }
default:
    FileHandle.standardError.write("unipelt: unknown command '\(arguments[0])'\n\n\(usage)\n".data(using: .utf8)!)
    exit(2)
}
