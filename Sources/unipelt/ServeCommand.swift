import Foundation
import Service

/// `unipelt serve [--config PATH] [--port N] [--listen ADDR] [--data-dir DIR]`: runs the service until
/// SIGTERM or SIGINT.
enum ServeCommand: CLICommand {
    static let name = "serve"
    static let summary = "run the service: HTTP API, job queue, training workers"
    static let usage = """
    usage: unipelt serve [--config PATH] [--port N] [--listen ADDR] [--data-dir DIR]
      Runs the service: the HTTP API, the job queue and the training workers.
    \(ServeOptions.precedence)
      SIGTERM or SIGINT checkpoints running jobs, puts them back in the queue and exits 0.
    """

    static func run(_ arguments: [String]) throws {
        let environment = ProcessInfo.processInfo.environment
        let config = try ServeOptions(arguments, usage: usage).load()
        let app = try App(config: config, environment: environment)
        let termination = TerminationSignal()  // before the port opens: an early SIGTERM still stops cleanly
        try app.start()

        termination.wait()
        app.shutdown()
    }
}
