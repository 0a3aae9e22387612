import Foundation
import Service

/// `unipelt config [--config PATH] [--port N] [--listen ADDR] [--data-dir DIR]`: prints the settings
/// `serve` would run with (defaults, file, environment and flags applied), or the error that would stop it.
enum ConfigCommand: CLICommand {
    static let name = "config"
    static let summary = "print the settings serve would use"
    static let usage = """
    usage: unipelt config [--config PATH] [--port N] [--listen ADDR] [--data-dir DIR]
      Prints every setting as `serve` with the same options would use it. The API token is masked.
    \(ServeOptions.precedence)
    """

    static func run(_ arguments: [String]) throws {
        print(try ServeOptions(arguments, usage: usage).load().rendered(maskingToken: true), terminator: "")
    }
}

/// The options `serve` and `config` share: `--config PATH`, and flags that set one config key each.
struct ServeOptions {
    var file: String?
    var flags: [(key: String, value: String)] = []

    static let precedence = """
      Settings, lowest precedence first: the embedded defaults (config/unipelt.conf lists every key), the
      --config file, UNIPELT_<KEY> environment variables, then the flags:
        --port N         listen_port      --listen ADDR   listen_address      --data-dir DIR   data_dir
    """

    init(_ arguments: [String], usage: String) throws {
        var remaining = arguments[...]
        while let option = remaining.popFirst() {
            let key = option == "--config" ? nil : Config.flags.first { $0.flag == option }?.key
            guard option == "--config" || key != nil else {
                throw CommandLineError(message: "unexpected argument '\(option)'\n\n\(usage)")
            }
            guard let value = remaining.popFirst() else {
                throw CommandLineError(message: "\(option) needs a value\n\n\(usage)")
            }
            if let key { flags.append((key, value)) } else { file = value }
        }
    }

    func load() throws -> Config {
        try Config.load(file: file, environment: ProcessInfo.processInfo.environment, flags: flags)
    }
}
