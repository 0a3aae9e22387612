import Foundation

// unipelt: trains parameter-efficient tuned language models as queued jobs.
// Each command lives in its own file as `enum …Command { static let usage; static func run(_:) }`;
// this table is the only place that lists them.
struct Command {
    /// One or two words (`bench http`).
    let name: String
    let summary: String
    let usage: String
    let run: ([String]) throws -> Void
}

let commands: [Command] = [
    Command(name: "serve", summary: "run the service: HTTP API, job queue, training workers",
            usage: ServeCommand.usage, run: ServeCommand.run),
    Command(name: "worker", summary: "train jobs of a service over HTTP (another machine, a Slurm node)",
            usage: WorkerCommand.usage, run: WorkerCommand.run),
    Command(name: "config", summary: "print the settings serve would use",
            usage: ConfigCommand.usage, run: ConfigCommand.run),
    Command(name: "train", summary: "train one job in the foreground (no server)",
            usage: TrainCommand.usage, run: { exitOnFailure(TrainCommand.run($0)) }),
    Command(name: "data glue", summary: "download and unpack GLUE tasks into the standard layout",
            usage: DataCommand.usage, run: DataCommand.run),
    Command(name: "predict", summary: "run a trained checkpoint on JSON lines of texts",
            usage: PredictCommand.usage, run: PredictCommand.run),
    Command(name: "export", summary: "write a trained checkpoint as a PEFT, adapters or merged HF folder",
            usage: ExportCommand.usage, run: ExportCommand.run),
    Command(name: "tokenize", summary: "encode JSON lines of texts into BERT token ids",
            usage: TokenizeCommand.usage, run: TokenizeCommand.run),
    Command(name: "split", summary: "print the train/dev rows a K-shot split draws",
            usage: SplitCommand.usage, run: SplitCommand.run),
    Command(name: "bench http", summary: "serve a small JSON route for wrk",
            usage: BenchHTTPCommand.usage, run: BenchHTTPCommand.run),
    Command(name: "migrate", summary: "apply pending database migrations",
            usage: migrateUsage, run: { exitOnFailure(runMigrate($0)) }),
    Command(name: "bench step", summary: "time training steps per method against the SGEMM floor",
            usage: BenchStepCommand.usage, run: BenchStepCommand.run),
    Command(name: "bench eval", summary: "time evaluation (inference) over a task's dev split against the SGEMM floor",
            usage: BenchEvalCommand.usage, run: BenchEvalCommand.run),
    Command(name: "bench kernels", summary: "time the elementwise kernels (GELU, softmax, LayerNorm) at BERT shapes",
            usage: BenchKernelsCommand.usage, run: BenchKernelsCommand.run),
    Command(name: "bench store", summary: "time the job store: sweep enqueue, claims, metric inserts",
            usage: storeBenchUsage, run: { exitOnFailure(runStoreBench($0)) }),
]

/// For commands that report their own errors and return an exit status.
func exitOnFailure(_ status: Int32) {
    if status != 0 { exit(status) }
}

let overview = """
usage: unipelt <command> [options]

commands:
\(commands.map { "  " + $0.name.padding(toLength: 13, withPad: " ", startingAt: 0) + $0.summary }.joined(separator: "\n"))
  help         show this text

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
