import XCTest
@testable import Service

final class ConfigTests: XCTestCase {
    private var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    private func temporaryFile(_ text: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("unipelt-\(UUID().uuidString).conf")
        try text.write(to: url, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// The shipped config file documents every key at exactly its embedded default.
    func testShippedConfigFileListsEveryKeyAtItsDefault() throws {
        let path = packageRoot.appendingPathComponent("config/unipelt.conf").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let setKeys = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            .map { String($0[..<$0.firstIndex(of: "=")!]).trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(setKeys, Config.keys.map(\.name))
        XCTAssertEqual(try Config.load(file: path, environment: [:]), Config())
    }

    func testFileThenEnvironmentOverride() throws {
        let file = try temporaryFile("listen_port = 9000\nworkers = 3\n# a comment\n\nlog_level = DEBUG\n")
        let config = try Config.load(file: file, environment: ["UNIPELT_LISTEN_PORT": "9100", "PATH": "/bin"])
        XCTAssertEqual(config.listenPort, 9100)
        XCTAssertEqual(config.workers, 3)
        XCTAssertEqual(config.logLevel, .debug)
    }

    /// Flag > environment > file > default, key by key.
    func testFlagsOverrideEnvironmentOverrideFile() throws {
        let file = try temporaryFile("listen_port = 9000\nlisten_address = 127.0.0.2\ndata_dir = from-file\nworkers = 3\n")
        let environment = ["UNIPELT_LISTEN_PORT": "9100", "UNIPELT_DATA_DIR": "from-env"]
        let config = try Config.load(file: file, environment: environment,
                                     flags: [("listen_port", "9200"), ("listen_address", "127.0.0.3")])
        XCTAssertEqual(config.listenPort, 9200)
        XCTAssertEqual(config.listenAddress, "127.0.0.3")
        XCTAssertEqual(config.dataDirectory, "from-env")
        XCTAssertEqual(config.workers, 3)
        XCTAssertEqual(config.leaseSeconds, Config().leaseSeconds)
        XCTAssertThrowsError(try Config.load(file: nil, environment: [:], flags: [("listen_port", "http")])) { error in
            XCTAssertEqual(error as? ConfigError, .badValue(key: "listen_port", value: "http",
                                                            expected: "an integer from 0 to 65535", source: "command-line flag --port"))
        }
    }

    func testUnknownKeyInFileNamesKeyAndLine() throws {
        let file = try temporaryFile("listen_port = 9000\nlisten_prot = 9001\n")
        XCTAssertThrowsError(try Config.load(file: file, environment: [:])) { error in
            guard case let ConfigError.unknownKey(key, source) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "listen_prot")
            XCTAssertEqual(source, "\(file):2")
            XCTAssertTrue("\(error)".contains("listen_port"), "the message lists the known keys")
        }
    }

    func testUnknownEnvironmentKeyIsRefused() {
        XCTAssertThrowsError(try Config.load(file: nil, environment: ["UNIPELT_WORKERZ": "2"])) { error in
            XCTAssertEqual(error as? ConfigError, .unknownKey(key: "UNIPELT_WORKERZ", source: "environment"))
        }
        // Variables of the build and the developer scripts are not config keys and do not stop the service.
        XCTAssertEqual(try Config.load(file: nil, environment: ["UNIPELT_BUILD_ID": "abc", "UNIPELT_PORTABLE_BUILD": "1"]),
                       Config())
    }

    /// A comment may follow a value (as the README's examples write them), and Windows line ends are line ends.
    func testCommentsAfterValuesAndWindowsLineEnds() throws {
        let file = try temporaryFile("executor = pull   # train only on the workers\r\n"
                                     + "worker_server_url = http://head:8080\t# what compute nodes connect to\r\n"
                                     + "slurm_extra_args = --account=lab#1\r\n")
        let config = try Config.load(file: file, environment: [:])
        XCTAssertEqual(config.executor, .pull)
        XCTAssertEqual(config.workerServerURL, "http://head:8080")
        XCTAssertEqual(config.slurmExtraArguments, "--account=lab#1", "a # inside a word is no comment")
        // A value that a comment swallowed whole is refused, naming the line; "key =" stays the way to leave it empty.
        let swallowed = try temporaryFile("api_token =\napi_token = #s3cret\n")
        XCTAssertThrowsError(try Config.load(file: swallowed, environment: [:])) { error in
            guard case let ConfigError.badValue(key, _, _, source) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "api_token")
            XCTAssertEqual(source, "\(swallowed):2")
            XCTAssertFalse("\(error)".contains("s3cret"), "the error never shows a token")
        }
        XCTAssertEqual(try Config.load(file: try temporaryFile("api_token =#s3cret\n"), environment: [:]).apiToken, "#s3cret")
    }

    /// Values that would quietly go wrong later are refused at start.
    func testEmptyPathsAndNonHTTPWorkerURLsAreRefused() {
        for (key, value) in [("data_dir", ""), ("listen_address", " "), ("default_model", ""),
                             ("worker_server_url", "head:8080"), ("worker_server_url", "http://head:8080;id"),
                             ("worker_server_url", "http://head:8080 --once")] {
            XCTAssertThrowsError(try Config.load(file: nil, environment: [:], flags: [(key, value)]), key) { error in
                guard case let ConfigError.badValue(badKey, _, _, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(badKey, key)
            }
        }
    }

    func testBadValuesNameKeyValueAndSource() throws {
        let cases: [(String, String, String)] = [
            ("listen_port", "eighty", "an integer from 0 to 65535"),
            ("listen_port", "70000", "an integer from 0 to 65535"),
            ("sqlite_synchronous", "off", "one of full, normal"),
            ("workers", "-1", "an integer from 0 to 256"),
        ]
        for (key, value, expected) in cases {
            let env = [Config.environmentName(of: key): value]
            XCTAssertThrowsError(try Config.load(file: nil, environment: env)) { error in
                XCTAssertEqual(error as? ConfigError,
                               .badValue(key: key, value: value, expected: expected,
                                         source: "environment variable \(Config.environmentName(of: key))"))
            }
        }
        let file = try temporaryFile("log_level = loud\n")
        XCTAssertThrowsError(try Config.load(file: file, environment: [:])) { error in
            XCTAssertEqual(error as? ConfigError, .badValue(key: "log_level", value: "loud",
                                                            expected: "one of debug, info, warning, error",
                                                            source: "\(file):1"))
        }
    }

    func testMalformedLineAndMissingFile() throws {
        let file = try temporaryFile("listen_port 9000\n")
        XCTAssertThrowsError(try Config.load(file: file, environment: [:])) { error in
            XCTAssertEqual(error as? ConfigError, .malformedLine(source: "\(file):1", line: "listen_port 9000"))
        }
        XCTAssertThrowsError(try Config.load(file: "/nonexistent/unipelt.conf", environment: [:])) { error in
            guard case .unreadableFile(let path, _) = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent/unipelt.conf")
        }
    }

    func testHeartbeatMustFitTwiceInLease() {
        XCTAssertThrowsError(try Config.load(file: nil, environment: ["UNIPELT_LEASE_SECONDS": "10",
                                                                      "UNIPELT_HEARTBEAT_SECONDS": "6"]))
        XCTAssertNoThrow(try Config.load(file: nil, environment: ["UNIPELT_LEASE_SECONDS": "10",
                                                                  "UNIPELT_HEARTBEAT_SECONDS": "5"]))
    }

    func testRenderedTextLoadsBackToTheSameConfig() throws {
        var config = Config()
        config.listenPort = 0
        config.glueDirectory = "/data/glue"
        config.sqliteSynchronous = .normal
        let file = try temporaryFile(config.rendered())
        XCTAssertEqual(try Config.load(file: file, environment: [:]), config)
    }

    func testRenderedTextCanMaskTheToken() {
        var config = Config()
        config.apiToken = "s3cret"
        XCTAssertTrue(config.rendered().contains("api_token = s3cret"))
        XCTAssertTrue(config.rendered(maskingToken: true).contains("api_token = ********"))
        XCTAssertFalse(config.rendered(maskingToken: true).contains("s3cret"))
    }

    func testDerivedDirectoriesAndConcurrency() {
        var config = Config()
        config.dataDirectory = "/var/lib/unipelt"
        XCTAssertEqual(config.resolvedModelDirectory, "/var/lib/unipelt/models")
        XCTAssertEqual(config.resolvedGLUEDirectory, "/var/lib/unipelt/glue")
        XCTAssertEqual(config.resolvedConcurrency(cores: 2).workers, 2)
        XCTAssertEqual(config.resolvedConcurrency(cores: 2).threadsPerWorker, 1)
        XCTAssertEqual(config.resolvedConcurrency(cores: 32).workers, 8)
        XCTAssertEqual(config.resolvedConcurrency(cores: 32).threadsPerWorker, 4)
        config.workers = 1
        XCTAssertEqual(config.resolvedConcurrency(cores: 2).threadsPerWorker, 2)
    }

    func testAPITokenFromFileAndLoopbackDetection() throws {
        var config = Config()
        XCTAssertTrue(config.listensOnLoopbackOnly)
        XCTAssertNil(try config.resolvedAPIToken())
        config.listenAddress = "0.0.0.0"
        XCTAssertFalse(config.listensOnLoopbackOnly)
        config.apiTokenFile = try temporaryFile("s3cret-token\nignored second line\n")
        XCTAssertEqual(try config.resolvedAPIToken(), "s3cret-token")
        config.apiTokenFile = try temporaryFile("s3cret-token\r\n")
        XCTAssertEqual(try config.resolvedAPIToken(), "s3cret-token", "a Windows line end is no part of the token")
        config.apiTokenFile = try temporaryFile("\n")
        XCTAssertThrowsError(try config.resolvedAPIToken())
    }
}
