import Foundation
import Service

/// `unipelt worker --server URL …`: a pull worker that trains jobs of a service on another machine (or a
/// Slurm compute node) until SIGTERM, or one job with `--once`.
enum WorkerCommand: CLICommand {
    static let name = "worker"
    static let summary = "train jobs of a service over HTTP (another machine, a Slurm node)"
    static let usage = """
    usage: unipelt worker --server URL [--token T | --token-file F] [--threads N] [--once]
                          [--model-dir DIR] [--glue-dir DIR] [--work-dir DIR] [--log-level LEVEL]
      Claims jobs from the service at URL over HTTP, trains them and reports back under each job's lease;
      the service keeps the job store and the checkpoints. A job resumes from the checkpoint the service
      holds, on whichever machine claims it.
      --token, --token-file  the service's API token (the file's first line; default: $UNIPELT_API_TOKEN);
                             needed unless the service listens on loopback only
      --threads N            BLAS and compute threads for the job (default: the cores of this machine)
      --once                 run one job (or find none) and exit: one Slurm array task per job
      --model-dir DIR        named model folders (default var/models)
      --glue-dir DIR         GLUE data in the standard TSV layout (default var/glue)
      --work-dir DIR         scratch checkpoints of the running job (default var/worker)
      SIGTERM or SIGINT (shutdown, Slurm preemption or time limit) checkpoints the running job, hands the
      checkpoint to the service, puts the job back in the queue and exits 0. With --once it exits 1 when the
      service stays out of reach and 2 when the job could not be prepared (the checkpoint or the model not
      fetched, the work dir not made); without, it exits 2 after 3 jobs in a row that this machine could not
      prepare (its disk or folders at fault): their leases expire and other workers take them.
    """

    static func run(_ arguments: [String]) throws {
        let once = arguments.contains("--once")
        let options = try ValueOptions(arguments.filter { $0 != "--once" },
                                       allowed: ["--server", "--token", "--token-file", "--threads", "--model-dir",
                                                 "--glue-dir", "--work-dir", "--log-level"],
                                       required: ["--server"], usage: usage)
        guard let server = options["--server"].flatMap({ URL(string: $0.hasSuffix("/") ? $0 : $0 + "/") }),
              ["http", "https"].contains(server.scheme ?? "") else {
            throw ValueOptions.UsageError(description: "--server: expected an http:// URL of the service")
        }
        if options["--token"] != nil && options["--token-file"] != nil {
            throw ValueOptions.UsageError(description: "give --token or --token-file, not both")
        }
        // A Slurm task gets the token in its environment from the service that submitted it.
        var token = options["--token"] ?? ProcessInfo.processInfo.environment["UNIPELT_API_TOKEN"]
        if let file = options["--token-file"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                  case let line = Config.token(fromFileText: text), !line.isEmpty else {
                throw ValueOptions.UsageError(description: "--token-file: cannot read a token from the first line of \(file)")
            }
            token = line
        }
        let threads = try options["--threads"].map { text -> Int in
            guard let value = Int(text), (1...256).contains(value) else {
                throw ValueOptions.UsageError(description: "--threads: expected an integer from 1 to 256")
            }
            return value
        } ?? ProcessInfo.processInfo.activeProcessorCount
        let level = try options["--log-level"].map { text -> Config.LogLevel in
            guard let level = Config.LogLevel(rawValue: text) else {
                throw ValueOptions.UsageError(description: "--log-level: expected debug, info, warning or error")
            }
            return level
        } ?? .info
        var workerOptions = PullWorker.Options(
            server: server, token: token, threads: threads, once: once,
            modelDirectory: options["--model-dir"] ?? "var/models", glueDirectory: options["--glue-dir"] ?? "var/glue",
            workDirectory: options["--work-dir"] ?? "var/worker", owner: owner())
        workerOptions.slurmJob = slurmJob()
        let worker = PullWorker(options: workerOptions, log: ServiceLog(minimumLevel: level))
        let termination = TerminationSignal()
        let thread = Thread { exit(worker.run()) }
        thread.stackSize = 8 << 20
        thread.start()
        termination.wait()
        worker.stop()
        while true { sleep(60) }  // the worker thread exits the process once its job is handed back
    }

    /// Host and process, and the Slurm job when run as one.
    static func owner() -> String {
        "\(ProcessInfo.processInfo.hostName) pid \(getpid())" + (slurmJob().map { " slurm \($0)" } ?? "")
    }

    /// The Slurm job this process runs as: `array_task` for an array task, else the job id.
    static func slurmJob() -> String? {
        let environment = ProcessInfo.processInfo.environment
        if let array = environment["SLURM_ARRAY_JOB_ID"], let task = environment["SLURM_ARRAY_TASK_ID"] { return "\(array)_\(task)" }
        return environment["SLURM_JOB_ID"]
    }
}
