import Foundation
import Service

/// `unipelt serve [--config PATH]`: runs the service until SIGTERM or SIGINT.
enum ServeCommand {
    static let usage = """
    usage: unipelt serve [--config PATH]
      Runs the service: the HTTP API, the job queue and the training workers.
      Without --config it runs on the embedded defaults (see config/unipelt.conf, which lists every key);
      UNIPELT_<KEY> environment variables override both.
      SIGTERM or SIGINT checkpoints running jobs, puts them back in the queue and exits 0.
    """

    static func run(_ arguments: [String]) throws {
        let environment = ProcessInfo.processInfo.environment
        let config = try Config.load(file: try ConfigCommand.configPath(arguments, usage: usage), environment: environment)
        let app = try App(config: config, environment: environment)
        try app.start()

        waitForTerminationSignal()
        app.shutdown()
    }
}
