import Foundation
import Service

/// `unipelt config [--config PATH]`: prints the settings `serve` would run with (defaults, file and
/// environment applied), or the error that would stop it.
enum ConfigCommand {
    static let usage = """
    usage: unipelt config [--config PATH]
      Prints every setting as `serve` would use it: the embedded defaults, then PATH, then UNIPELT_<KEY>
      environment variables. The API token is masked.
    """

    static func run(_ arguments: [String]) throws {
        print(try Config.load(file: try configPath(arguments, usage: usage), environment: ProcessInfo.processInfo.environment)
            .rendered(maskingToken: true), terminator: "")
    }

    /// The `--config PATH` option, the only one `serve` and `config` take.
    static func configPath(_ arguments: [String], usage: String) throws -> String? {
        var path: String?
        var remaining = arguments[...]
        while let option = remaining.popFirst() {
            guard option == "--config", let value = remaining.popFirst() else {
                throw CommandLineError(message: "unexpected argument '\(option)' (or --config without a path)\n\n\(usage)")
            }
            path = value
        }
        return path
    }
}
