// Worker process for the job-store crash tests (Tests/JobStoreTests/CrashTests.swift). It does what the service's workers do to
// the store — create sweeps, claim, heartbeat, write per-step metrics and gates, save checkpoints,
// finish — and prints a marker line just before each risky point, so the test can SIGKILL it there.
// Markers are written with write(2), unbuffered, so the test sees them before the next step runs.
//
//   enqueue --db PATH --sweeps N --jobs M            sweeps of M jobs; spec {"job_count": M}
//   work    --db PATH --owner NAME --steps N --dir D [--threads T] [--lease S]
//                                                    run jobs until none is left; exit 0
//   claim   --db PATH --owner NAME --threads T --start-file F [--work-ms MS]
//                                                    print "ready", wait for F to exist (so that several
//                                                    processes start together), then claim, "work" MS
//                                                    milliseconds outside any transaction, and finish;
//                                                    prints "claimed ID ATTEMPT"
//   stale   --db PATH --owner NAME --lease S --heartbeat-ms MS
//                                                    claim one job, heartbeat until the lease is lost, then try
//                                                    to write anyway; exit 3 if every write was refused
import Checksum
import Foundation
import JobStore

let metricNames = ["train_loss", "valid_acc"]

/// The value the worker writes for a metric at a step; the crash test recomputes it.
func metricValue(step: Int) -> Double { Double(step) * 0.5 }

let outputLock = NSLock()
func say(_ line: String) {
    outputLock.lock()
    defer { outputLock.unlock() }
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("unipelt-store-crash: \(message)\n".utf8))
    exit(2)
}

func unixNow() -> Int { Int(Date().timeIntervalSince1970) }

/// Sleeps a random time up to `maximumMicroseconds`, to spread the kill points.
func jitter(_ maximumMicroseconds: UInt32) { usleep(UInt32.random(in: 0...maximumMicroseconds)) }

struct Options {
    var values: [String: String] = [:]

    init(_ arguments: ArraySlice<String>) {
        var iterator = arguments.makeIterator()
        while let name = iterator.next() {
            guard name.hasPrefix("--"), let value = iterator.next() else { fail("bad argument \(name)") }
            values[String(name.dropFirst(2))] = value
        }
    }

    func string(_ name: String) -> String {
        guard let value = values[name] else { fail("missing --\(name)") }
        return value
    }

    func int(_ name: String, default defaultValue: Int? = nil) -> Int {
        guard let value = values[name].flatMap(Int.init) ?? defaultValue else { fail("missing or bad --\(name)") }
        return value
    }
}

func openStore(_ options: Options) -> JobStore {
    do { return try JobStore(path: options.string("db"), now: unixNow()) }
    catch { fail("open: \(error)") }
}

/// Runs `body` on `count` threads and waits for all of them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        let thread = Thread { body(index); group.leave() }
        group.enter()
        thread.start()
    }
    group.wait()
}

func enqueue(_ options: Options) throws {
    let store = openStore(options)
    let jobCount = options.int("jobs")
    for _ in 0..<options.int("sweeps") {
        let name = "crash-\(UUID().uuidString.prefix(8))"
        let jobs = (0..<jobCount).map { index in
            NewJob(cellKey: "rte/K=16/seed=\(index)/lora", task: "rte", k: .examples(16), seed: index, method: "lora",
                   spec: #"{"task":"rte","seed":\#(index)}"#)
        }
        try store.write { writer in
            _ = try writer.createSweep(NewSweep(name: name, spec: #"{"job_count":\#(jobCount)}"#), jobs: jobs, now: unixNow())
            say("in-sweep-insert")  // the rows are written, the commit has not happened
            jitter(20_000)
        }
        say("sweep-committed")
    }
}

/// Writes a checkpoint the way the trainer must: temp file, fsync, rename to a path of its own,
/// fsync the directory, then the row, and only then delete the file the row replaced.
func saveCheckpoint(_ store: JobStore, _ lease: Lease, step: Int, directory: URL) throws {
    let jobDirectory = directory.appendingPathComponent(lease.jobID, isDirectory: true)
    try FileManager.default.createDirectory(at: jobDirectory, withIntermediateDirectories: true)
    let bytes = Array(String(repeating: "job \(lease.jobID) step \(step)\n", count: 2000).utf8)
    let final = jobDirectory.appendingPathComponent("last-\(step).ckpt")
    let temporary = jobDirectory.appendingPathComponent("tmp.\(UUID().uuidString)")
    let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard descriptor >= 0 else { fail("open \(temporary.path): errno \(errno)") }
    _ = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
    fsync(descriptor)
    close(descriptor)
    say("checkpoint-rename")
    jitter(2_000)
    guard rename(temporary.path, final.path) == 0 else { fail("rename: errno \(errno)") }
    let directoryDescriptor = open(jobDirectory.path, O_RDONLY)
    fsync(directoryDescriptor)
    close(directoryDescriptor)
    let replaced = try store.write {
        try $0.recordCheckpoint(lease, NewCheckpoint(name: "last", step: step, path: final.path, bytes: bytes.count,
                                                     sha256: SHA256.hex(Data(bytes))), isBest: true, now: unixNow()).replacedPath
    }
    if let replaced { unlink(replaced) }
}

func work(_ options: Options) throws {
    let store = openStore(options)
    let owner = options.string("owner")
    let steps = options.int("steps")
    let leaseSeconds = options.int("lease", default: 30)
    let directory = URL(fileURLWithPath: options.string("dir"), isDirectory: true)
    onThreads(options.int("threads", default: 1)) { thread in
        do {
            while let claimed = try store.write({ try $0.claim(limit: 1, owner: "\(owner)-\(thread)",
                                                               leaseSeconds: leaseSeconds, now: unixNow()) }).first {
                let lease = claimed.lease
                say("claimed \(lease.jobID)")
                jitter(2_000)
                for step in 1...steps {
                    try store.write { writer in
                        _ = try writer.heartbeat(lease, progress: JobProgress(step: step, totalSteps: steps),
                                                 leaseSeconds: leaseSeconds, now: unixNow())
                        say("mid-result-write")
                        try writer.recordMetrics(lease, step: step, epoch: nil, wallTime: Date().timeIntervalSince1970,
                                                 values: metricNames.map { NamedValue(name: $0, value: metricValue(step: step)) })
                        try writer.recordGates(lease, step: step, values: GateSubmodule.allCases.map {
                            GateValue(layer: 0, submodule: $0, value: metricValue(step: step))
                        })
                    }
                    if step % 2 == 0 { try saveCheckpoint(store, lease, step: step, directory: directory) }
                }
                try store.write { writer in
                    say("mid-result-write")
                    _ = try writer.finish(lease, result: #"{"test_metric":{"name":"accuracy","value":\#(metricValue(step: steps))}}"#,
                                          now: unixNow())
                }
                say("finished \(lease.jobID)")
            }
        } catch {
            fail("work: \(error)")
        }
    }
}

func claimAndFinish(_ options: Options) {
    let store = openStore(options)
    let owner = options.string("owner")
    let startFile = options.string("start-file")
    let workMicroseconds = UInt32(options.int("work-ms", default: 0) * 1000)
    say("ready")
    while !FileManager.default.fileExists(atPath: startFile) { usleep(1_000) }
    onThreads(options.int("threads")) { thread in
        do {
            while let claimed = try store.write({ try $0.claim(limit: 1, owner: "\(owner)-\(thread)", leaseSeconds: 600,
                                                               now: unixNow()) }).first {
                say("claimed \(claimed.job.id) \(claimed.job.attempt)")
                // Real work leaves the lock free between transactions; without it one process's
                // threads can hold SQLite's lock back to back and starve the other's busy handler.
                usleep(workMicroseconds)
                _ = try store.write { try $0.finish(claimed.lease, result: "{}", now: unixNow()) }
            }
        } catch {
            fail("claim: \(error)")
        }
    }
}

func stale(_ options: Options) throws -> Never {
    let store = openStore(options)
    let leaseSeconds = options.int("lease")
    let heartbeatMicroseconds = UInt32(options.int("heartbeat-ms") * 1000)
    guard let claimed = try store.write({ try $0.claim(limit: 1, owner: options.string("owner"), leaseSeconds: leaseSeconds,
                                                       now: unixNow()) }).first else { fail("stale: nothing to claim") }
    let lease = claimed.lease
    say("claimed \(lease.jobID)")
    func refused(_ what: String, _ write: (StoreWriter) throws -> Void) -> Bool {
        do {
            try store.write(write)
            return false
        } catch JobStoreError.leaseLost(let jobID) where jobID == lease.jobID {
            say("lease-lost \(what)")
            return true
        } catch {
            fail("stale \(what): \(error)")
        }
    }
    var step = 0
    // Work until a heartbeat is refused: the rescuer gave the job to someone else.
    while !refused("heartbeat", { writer in
        step += 1
        _ = try writer.heartbeat(lease, progress: JobProgress(step: step), leaseSeconds: leaseSeconds, now: unixNow())
        try writer.recordMetrics(lease, step: step, epoch: nil, wallTime: 0, values: [NamedValue(name: "train_loss", value: 1)])
    }) {
        usleep(heartbeatMicroseconds)
    }
    // A buggy worker would keep writing; every one of these must change nothing.
    let metricsRefused = refused("metrics") {
        try $0.recordMetrics(lease, step: step + 1, epoch: nil, wallTime: 0, values: [NamedValue(name: "train_loss", value: 2)])
    }
    let finishRefused = refused("finish") { _ = try $0.finish(lease, result: #"{"stale":true}"#, now: unixNow()) }
    exit(metricsRefused && finishRefused ? 3 : 4)
}

let arguments = CommandLine.arguments.dropFirst()
let options = Options(arguments.dropFirst())
do {
    switch arguments.first {
    case "enqueue": try enqueue(options)
    case "work": try work(options)
    case "claim": claimAndFinish(options)
    case "stale": try stale(options)
    default: fail("usage: unipelt-store-crash enqueue|work|claim|stale --db PATH …")
    }
} catch {
    fail("\(error)")
}
