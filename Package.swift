// swift-tools-version:6.0
import PackageDescription

// Hot numeric code is built with -Ounchecked in release: bounds and overflow checks are the
// difference between a BLAS-bound step and a loop-bound one. Release builds are also tuned for the
// CPU that builds them (-target-cpu native, like -march=native): the SIMD16 kernels (GELU, softmax,
// LayerNorm, dropout) otherwise compile to SSE2 and took a fifth of a training step; with AVX2/AVX-512
// the step is 1.2–1.3× faster. Such a binary runs on that CPU type; set UNIPELT_PORTABLE_BUILD=1 when
// building a binary for other machines. Debug builds keep every check but still optimise (-O):
// unoptimised SIMD kernels run about 300× slower, which would make the model and end-to-end tests crawl.
let hostTuning = Context.environment["UNIPELT_PORTABLE_BUILD"] == nil ? ["-target-cpu", "native"] : []
let fastRelease: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo"] + hostTuning, .when(configuration: .release)),
    .unsafeFlags(["-O"], .when(configuration: .debug)),
]

let package = Package(
    name: "unipelt",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "unipelt", targets: ["unipelt"]),
    ],
    targets: [
        // System libraries, found through pkg-config (Debian: libopenblas-dev, libsqlite3-dev).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),

        // Libraries, lowest first; a dependency only points down (docs/architecture.md).
        .target(name: "Tensor", dependencies: ["CBLAS"], swiftSettings: fastRelease),
        .target(name: "Model", dependencies: ["Tensor"], swiftSettings: fastRelease),
        .target(name: "Text"),
        // SHA-256 for checkpoint files, downloads and request bodies; depends on nothing.
        .target(name: "Checksum"),
        .target(name: "Training", dependencies: ["Model", "Text", "Checksum"], swiftSettings: fastRelease),
        .target(name: "JobStore", dependencies: ["CSQLite"]),
        .target(name: "HTTP"),
        // Pure functions over result rows (tables, selection by dev, paired statistics, gate summaries).
        .target(name: "Analysis", dependencies: ["Text"]),
        // The dashboard's HTML, CSS and JavaScript are compiled in (`PackageResources`), so the binary serves them.
        .target(name: "Service", dependencies: ["Training", "JobStore", "HTTP", "Analysis", "Checksum"],
                resources: [.embedInCode("Dashboard")]),

        .executableTarget(name: "unipelt", dependencies: ["Service", "Training", "Text", "JobStore", "HTTP", "Analysis", "Checksum"]),
        // A worker process that the job-store crash tests start and SIGKILL.
        .executableTarget(name: "unipelt-store-crash", dependencies: ["JobStore", "Checksum"],
                          path: "Sources/StoreCrashWorker"),

        // Helpers shared by several test targets (assertClose, temporary directories, a captured log, a test clock).
        .target(name: "TestSupport", dependencies: ["HTTP"], path: "Tests/TestSupport"),

        // Golden files (made by the scripts in Tests/Scripts) sit beside the tests and are read by path.
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"], exclude: ["Fixtures"]),

        .testTarget(name: "ModelTests", dependencies: ["Model", "TestSupport"], exclude: ["Golden"]),

        .testTarget(name: "TextTests", dependencies: ["Text", "TestSupport"], exclude: ["Golden"]),

        // Test-only: it replaces the process's malloc family to count allocations, so no product links it. The
        // test bundle exports its symbols, so that the call stacks of allocations it records have names.
        .target(name: "CAllocationCounter",
                linkerSettings: [.unsafeFlags(["-Xlinker", "--export-dynamic"], .when(platforms: [.linux]))]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Checksum", "CAllocationCounter", "TestSupport"]),

        .testTarget(name: "ChecksumTests", dependencies: ["Checksum"]),

        .testTarget(name: "JobStoreTests", dependencies: ["JobStore", "unipelt-store-crash", "TestSupport"]),

        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "TestSupport"]),

        .testTarget(name: "AnalysisTests", dependencies: ["Analysis"]),

        .testTarget(name: "ServiceTests", dependencies: ["Service", "unipelt", "Checksum", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
