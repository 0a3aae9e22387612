import Foundation

// unipelt: trains parameter-efficient tuned language models as queued jobs.
// Each command lives in its own file as an enum that says its name, summary and usage and runs it;
// this table is the only place that lists them.
protocol CLICommand {
    /// One or two words (`bench http`).
    static var name: String { get }
    static var summary: String { get }
    static var usage: String { get }
    static func run(_ arguments: [String]) throws
}

/// A command that reports its own errors and returns an exit status.
protocol StatusCommand: CLICommand {
    static func exitStatus(_ arguments: [String]) -> Int32
}

extension StatusCommand {
    static func run(_ arguments: [String]) {
        let status = exitStatus(arguments)
        if status != 0 { exit(status) }
    }
}

let commands: [any CLICommand.Type] = [
    ServeCommand.self, WorkerCommand.self, ConfigCommand.self, TrainCommand.self, DataCommand.self,
    PredictCommand.self, ExportCommand.self, TokenizeCommand.self, SplitCommand.self, BenchHTTPCommand.self,
    MigrateCommand.self, BenchStepCommand.self, BenchEvalCommand.self, BenchKernelsCommand.self,
    StoreBenchCommand.self,
]

let overview = """
usage: unipelt <command> [options]

commands:
\(commands.map { "  " + $0.name.padding(toLength: 15, withPad: " ", startingAt: 0) + $0.summary }.joined(separator: "\n"))
  help           show this text

`unipelt <command> --help` shows a command's options.
"""

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(status)
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.isEmpty || ["help", "-h", "--help"].contains(arguments[0]) {
    print(overview)
    exit(0)
}
// The longest command name that prefixes the arguments wins (`bench http` before `bench`).
let match = commands
    .filter { arguments.starts(with: $0.name.split(separator: " ").map(String.init)) }
    .max { $0.name.count < $1.name.count }
guard let command = match else {
    fail("unipelt: unknown command '\(arguments.prefix(2).joined(separator: " "))'\n\n\(overview)", status: 2)
}
let rest = Array(arguments.dropFirst(command.name.split(separator: " ").count))
if rest.contains("--help") || rest.contains("-h") {
    print(command.usage)
    exit(0)
}
do {
    try command.run(rest)
} catch {
    fail("unipelt \(command.name): \(error)", status: 1)
}
