import Foundation

/// The service's settings, validated once at start into an immutable value. Sources, lowest first:
/// the embedded defaults below, the config file (`key = value` lines), `UNIPELT_<KEY>` environment
/// variables, then command-line flags (`--port`, …). Nothing reads the environment or the file after boot.
///
/// `config/unipelt.conf` documents every key with its default; a test keeps the two in step.
public struct Config: Equatable, Sendable {
    public var listenAddress = "127.0.0.1"
    public var listenPort = 8080
    /// SQLite file, checkpoints; default `./var` in development, `/var/lib/unipelt` under systemd.
    public var dataDirectory = "var"
    /// Folder of named models, one HF-layout subfolder each (config.json, model.safetensors, vocab.txt).
    /// Empty means `<data_dir>/models`.
    public var modelDirectory = ""
    /// The subfolder of `model_dir` that a job's `"model": "default"` names.
    public var defaultModel = "minilm-l6"
    /// GLUE data in the standard TSV layout (`SST-2/train.tsv`, …). Empty means `<data_dir>/glue`.
    public var glueDirectory = ""
    /// Concurrent training jobs; 0 chooses from the core count.
    public var workers = 0
    /// BLAS and compute threads per job; 0 chooses from the core count.
    public var threadsPerWorker = 0
    public var leaseSeconds = 60
    public var heartbeatSeconds = 10
    public var maxAttempts = 3
    /// A running job writes its resumable checkpoint at least this often (0: only at evaluations); a job's
    /// `checkpoint_every_seconds` hyperparameter overrides it.
    public var checkpointEverySeconds = 300
    public var maxJobsPerSweep = 10_000
    public var maxBodyBytes = 1_048_576
    public var headerTimeoutSeconds = 10
    public var bodyTimeoutSeconds = 30
    public var idleTimeoutSeconds = 60
    public var writeTimeoutSeconds = 60
    public var maxConnections = 1024
    /// Required as `Authorization: Bearer …` on `/v1` when listening beyond loopback.
    public var apiToken = ""
    /// A file whose first line is the API token (keeps it out of the config file).
    public var apiTokenFile = ""
    public var sqliteSynchronous = SQLiteSynchronous.full
    public var logLevel = LogLevel.info
    /// How long SIGTERM may take: checkpoint running jobs, finish requests, exit.
    public var shutdownTimeoutSeconds = 60
    /// Whether a succeeded job keeps its resumable `last` checkpoint beside `best` (nothing reads it afterwards;
    /// for full fine-tuning it is the larger file).
    public var keepLastCheckpoint = false

    /// Who trains the queued jobs: `local` in-process workers, `slurm` job arrays of `unipelt worker`s, or
    /// `pull` workers started by hand (`unipelt worker --server …`). Pull workers may join under any of them.
    public var executor = Executor.local
    /// The URL workers reach the service at (Slurm workers run elsewhere); empty: http://<hostname>:<port>.
    public var workerServerURL = ""
    public var slurmPartition = ""
    /// `sbatch --time` of each array task, e.g. `02:00:00`; empty: the partition's default.
    public var slurmTimeLimit = ""
    public var slurmCPUsPerTask = 1
    /// `sbatch --mem`, e.g. `4G`; empty: the partition's default.
    public var slurmMemory = ""
    /// More `sbatch` arguments, split on spaces (e.g. `--account=lab --qos=low`).
    public var slurmExtraArguments = ""
    /// The worker command of each array task; the service appends `--server`, `--threads` and `--once`, and hands
    /// the API token to the task as `UNIPELT_API_TOKEN` in its environment.
    public var slurmWorkerCommand = "unipelt worker"
    /// How often the service compares the queue with `squeue` and submits or cancels array tasks.
    public var slurmReconcileSeconds = 10

    public init() {}

    public enum Executor: String, CaseIterable, Sendable { case local, slurm, pull }

    public enum SQLiteSynchronous: String, CaseIterable, Sendable { case full, normal }
    public enum LogLevel: String, CaseIterable, Sendable { case debug, info, warning, error }

    /// Every key with its setter and a printer of its current value. Order is the documentation order.
    static let keys: [(name: String, apply: (inout Config, String) throws -> Void, render: (Config) -> String)] = [
        entry("listen_address", \.listenAddress),
        entry("listen_port", \.listenPort, range: 0...65535),
        entry("data_dir", \.dataDirectory),
        entry("model_dir", \.modelDirectory),
        entry("default_model", \.defaultModel),
        entry("glue_dir", \.glueDirectory),
        entry("workers", \.workers, range: 0...256),
        entry("threads_per_worker", \.threadsPerWorker, range: 0...256),
        entry("lease_seconds", \.leaseSeconds, range: 5...86_400),
        entry("heartbeat_seconds", \.heartbeatSeconds, range: 1...3_600),
        entry("max_attempts", \.maxAttempts, range: 1...100),
        entry("checkpoint_every_seconds", \.checkpointEverySeconds, range: 0...604_800),
        entry("max_jobs_per_sweep", \.maxJobsPerSweep, range: 1...1_000_000),
        entry("max_body_bytes", \.maxBodyBytes, range: 1_024...(1 << 30)),
        entry("header_timeout_seconds", \.headerTimeoutSeconds, range: 1...3_600),
        entry("body_timeout_seconds", \.bodyTimeoutSeconds, range: 1...3_600),
        entry("idle_timeout_seconds", \.idleTimeoutSeconds, range: 1...86_400),
        entry("write_timeout_seconds", \.writeTimeoutSeconds, range: 1...86_400),
        entry("max_connections", \.maxConnections, range: 16...1_000_000),
        entry("api_token", \.apiToken),
        entry("api_token_file", \.apiTokenFile),
        entry("sqlite_synchronous", \.sqliteSynchronous),
        entry("log_level", \.logLevel),
        entry("shutdown_timeout_seconds", \.shutdownTimeoutSeconds, range: 1...3_600),
        entry("keep_last_checkpoint", \.keepLastCheckpoint),
        entry("executor", \.executor),
        entry("worker_server_url", \.workerServerURL),
        entry("slurm_partition", \.slurmPartition),
        entry("slurm_time_limit", \.slurmTimeLimit),
        entry("slurm_cpus_per_task", \.slurmCPUsPerTask, range: 1...1_024),
        entry("slurm_memory", \.slurmMemory),
        entry("slurm_extra_args", \.slurmExtraArguments),
        entry("slurm_worker_command", \.slurmWorkerCommand),
        entry("slurm_reconcile_seconds", \.slurmReconcileSeconds, range: 1...3_600),
    ]

    /// The environment variable that overrides `key`.
    public static func environmentName(of key: String) -> String { "UNIPELT_" + key.uppercased() }

    /// The command-line flags of `serve` and `config` that set a key: flag → key.
    public static let flags: [(flag: String, key: String)] = [
        ("--port", "listen_port"), ("--listen", "listen_address"), ("--data-dir", "data_dir"),
    ]

    /// Defaults, then the file (when given), then the environment, then `flags` (key → value, from
    /// command-line flags).
    public static func load(file: String?, environment: [String: String],
                            flags: [(key: String, value: String)] = []) throws -> Config {
        var config = Config()
        if let file {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw ConfigError.unreadableFile(path: file, reason: error.localizedDescription)
            }
            try config.apply(fileText: text, path: file)
        }
        for (name, value) in environment where name.hasPrefix("UNIPELT_") && !variablesOtherThanKeys.contains(name) {
            let key = name.dropFirst("UNIPELT_".count).lowercased()
            guard let entry = keys.first(where: { $0.name == key }) else {
                throw ConfigError.unknownKey(key: name, source: "environment")
            }
            try Config.apply(entry, value, to: &config, source: "environment variable \(name)")
        }
        for (key, value) in flags {
            guard let entry = keys.first(where: { $0.name == key }) else {
                throw ConfigError.unknownKey(key: key, source: "command line")
            }
            let flag = Self.flags.first { $0.key == key }?.flag ?? key
            try Config.apply(entry, value, to: &config, source: "command-line flag \(flag)")
        }
        try config.validate()
        return config
    }

    /// `UNIPELT_` variables that are not config keys, which a shell may well have exported: the build's
    /// version recorded on jobs, the portable-build switch, and what the developer scripts read.
    static let variablesOtherThanKeys: Set<String> = ["UNIPELT_BUILD_ID", "UNIPELT_PORTABLE_BUILD", "UNIPELT_BIN",
                                                      "UNIPELT_TOKEN"]

    /// `key = value` lines; `#` starts a comment at the start of a line or after whitespace, and Windows line
    /// ends are read as line ends.
    mutating func apply(fileText: String, path: String) throws {
        // By `isNewline`: Swift reads "\r\n" as one character, which a split on "\n" would not see.
        for (index, rawLine) in fileText.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            var commentAfterValue = false
            if let comment = line.range(of: #"(^|\s)#"#, options: .regularExpression) {
                commentAfterValue = comment.lowerBound != line.startIndex
                line = String(line[..<comment.lowerBound]).trimmingCharacters(in: .whitespaces)
            }
            if line.isEmpty { continue }
            let source = "\(path):\(index + 1)"
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError.malformedLine(source: source, line: String(line))
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard let entry = Config.keys.first(where: { $0.name == key }) else {
                throw ConfigError.unknownKey(key: key, source: source)
            }
            // `api_token = #x…` would otherwise leave the token empty without a word.
            if value.isEmpty && commentAfterValue {
                // The whole line, but never a token that may stand in its comment.
                let shown = key == "api_token" ? "api_token = ********" : String(rawLine).trimmingCharacters(in: .whitespaces)
                throw ConfigError.badValue(key: key, value: shown,
                                           expected: "a value before the comment (\"\(key) =\" leaves it empty; a value "
                                               + "that begins with # goes right after the =, as \(key) =#…)", source: source)
            }
            try Config.apply(entry, value, to: &self, source: source)
        }
    }

    /// Applies one value, naming where it came from in the error.
    private static func apply(_ entry: (name: String, apply: (inout Config, String) throws -> Void, render: (Config) -> String),
                              _ value: String, to config: inout Config, source: String) throws {
        do { try entry.apply(&config, value) } catch let ConfigError.badValue(key, value, expected, _) {
            throw ConfigError.badValue(key: key, value: value, expected: expected, source: source)
        }
    }

    /// Checks that span keys, and values that may not be empty.
    func validate() throws {
        for (key, value) in [("data_dir", dataDirectory), ("listen_address", listenAddress), ("default_model", defaultModel)]
            where value.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ConfigError.badValue(key: key, value: value, expected: "a non-empty value", source: "config")
        }
        // The URL goes into the command line of every Slurm task, so it must be one shell word.
        if !workerServerURL.isEmpty && (!(workerServerURL.hasPrefix("http://") || workerServerURL.hasPrefix("https://"))
                                        || workerServerURL.contains(where: { $0.isWhitespace || "'\"`$\\;&|<>()*?!{}".contains($0) })) {
            throw ConfigError.badValue(key: "worker_server_url", value: workerServerURL,
                                       expected: "an http:// or https:// URL without spaces or shell characters "
                                           + "(or empty: this host)", source: "config")
        }
        if heartbeatSeconds * 2 > leaseSeconds {
            throw ConfigError.badValue(key: "heartbeat_seconds", value: String(heartbeatSeconds),
                                       expected: "at most half of lease_seconds (\(leaseSeconds))", source: "config")
        }
        if !apiToken.isEmpty && !apiTokenFile.isEmpty {
            throw ConfigError.badValue(key: "api_token_file", value: apiTokenFile,
                                       expected: "empty when api_token is set (give one of the two)", source: "config")
        }
    }

    /// The config file text with every key at its current value: `unipelt config` prints it, with
    /// the API token masked so the output can be pasted into a bug report.
    public func rendered(maskingToken: Bool = false) -> String {
        Config.keys.map { key in
            let value = key.render(self)
            return "\(key.name) = \(maskingToken && key.name == "api_token" && !value.isEmpty ? "********" : value)"
        }.joined(separator: "\n") + "\n"
    }

    // MARK: Derived settings

    public var resolvedModelDirectory: String { modelDirectory.isEmpty ? dataDirectory + "/models" : modelDirectory }
    public var resolvedGLUEDirectory: String { glueDirectory.isEmpty ? dataDirectory + "/glue" : glueDirectory }
    /// Where exports are written while they stream (each removed once sent).
    public var exportDirectory: String { dataDirectory + "/exports" }

    /// Workers × threads fill the cores: small jobs scale better as separate single-threaded jobs than as
    /// one job on many BLAS threads, so workers come first (up to 8), and threads take the rest.
    public func resolvedConcurrency(cores: Int = ProcessInfo.processInfo.activeProcessorCount)
        -> (workers: Int, threadsPerWorker: Int) {
        let cores = max(1, cores)
        let workers = self.workers > 0 ? self.workers : min(cores, 8)
        let threads = threadsPerWorker > 0 ? threadsPerWorker : max(1, cores / workers)
        return (workers, threads)
    }

    /// Whether the listen address is reachable only from this machine.
    public var listensOnLoopbackOnly: Bool {
        ["127.0.0.1", "::1", "localhost"].contains(listenAddress) || listenAddress.hasPrefix("127.")
    }

    /// The URL workers reach the service at: `worker_server_url`, else this host (loopback when the service
    /// listens only there) and the port it listens on.
    public func workerServerURL(port: Int) -> String {
        if !workerServerURL.isEmpty { return workerServerURL }
        let host = listensOnLoopbackOnly ? listenAddress : ProcessInfo.processInfo.hostName
        return "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    /// A token file's token: its first line, without surrounding blanks or a Windows line end (Swift reads "\r\n"
    /// as one character, which a split on "\n" would not see). Empty when there is none.
    public static func token(fromFileText text: String) -> String {
        text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }

    /// The API token in force: from `api_token`, or the first line of `api_token_file`.
    public func resolvedAPIToken() throws -> String? {
        if !apiToken.isEmpty { return apiToken }
        guard !apiTokenFile.isEmpty else { return nil }
        guard let text = try? String(contentsOfFile: apiTokenFile, encoding: .utf8) else {
            throw ConfigError.unreadableFile(path: apiTokenFile, reason: "cannot read the API token file")
        }
        let token = Self.token(fromFileText: text)
        guard !token.isEmpty else {
            throw ConfigError.badValue(key: "api_token_file", value: apiTokenFile,
                                       expected: "a file whose first line is the token", source: apiTokenFile)
        }
        return token
    }
}

public enum ConfigError: Error, Equatable, CustomStringConvertible {
    case unknownKey(key: String, source: String)
    case badValue(key: String, value: String, expected: String, source: String)
    case malformedLine(source: String, line: String)
    case unreadableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownKey(key, source):
            return "\(source): unknown config key '\(key)'; known keys: \(Config.keys.map(\.name).joined(separator: ", "))"
        case let .badValue(key, value, expected, source):
            return "\(source): bad value '\(value)' for '\(key)': expected \(expected)"
        case let .malformedLine(source, line):
            return "\(source): expected 'key = value', got '\(line)'"
        case let .unreadableFile(path, reason):
            return "\(path): \(reason)"
        }
    }
}

// MARK: Key table builders: one per value kind, so each key is one line above.

private func entry(_ name: String, _ path: WritableKeyPath<Config, String>)
    -> (name: String, apply: (inout Config, String) throws -> Void, render: (Config) -> String) {
    (name, { config, value in config[keyPath: path] = value }, { $0[keyPath: path] })
}

private func entry(_ name: String, _ path: WritableKeyPath<Config, Bool>)
    -> (name: String, apply: (inout Config, String) throws -> Void, render: (Config) -> String) {
    (name, { config, value in
        guard let flag = ["true": true, "false": false][value.lowercased()] else {
            throw ConfigError.badValue(key: name, value: value, expected: "true or false", source: "")
        }
        config[keyPath: path] = flag
    }, { String($0[keyPath: path]) })
}

private func entry(_ name: String, _ path: WritableKeyPath<Config, Int>, range: ClosedRange<Int>)
    -> (name: String, apply: (inout Config, String) throws -> Void, render: (Config) -> String) {
    (name, { config, value in
        guard let number = Int(value), range.contains(number) else {
            throw ConfigError.badValue(key: name, value: value,
                                       expected: "an integer from \(range.lowerBound) to \(range.upperBound)",
                                       source: "")
        }
        config[keyPath: path] = number
    }, { String($0[keyPath: path]) })
}

private func entry<Choice: RawRepresentable & CaseIterable>(_ name: String, _ path: WritableKeyPath<Config, Choice>)
    -> (name: String, apply: (inout Config, String) throws -> Void, render: (Config) -> String)
    where Choice.RawValue == String {
    (name, { config, value in
        guard let choice = Choice(rawValue: value.lowercased()) else {
            throw ConfigError.badValue(key: name, value: value,
                                       expected: "one of " + Choice.allCases.map(\.rawValue).joined(separator: ", "),
                                       source: "")
        }
        config[keyPath: path] = choice
    }, { $0[keyPath: path].rawValue })
}
