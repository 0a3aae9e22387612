import Foundation

/// A Slurm job's state as `squeue`, `sacct` and `scontrol` spell it.
enum SlurmJobState: String, CaseIterable, Sendable {
    case pending = "PENDING", configuring = "CONFIGURING", running = "RUNNING", suspended = "SUSPENDED"
    case completing = "COMPLETING", stageOut = "STAGE_OUT", signaling = "SIGNALING", resizing = "RESIZING"
    case stopped = "STOPPED", requeued = "REQUEUED", requeueHold = "REQUEUE_HOLD", requeueFederation = "REQUEUE_FED"
    case reservationDeletionHold = "RESV_DEL_HOLD", specialExit = "SPECIAL_EXIT"
    case completed = "COMPLETED", failed = "FAILED", timeout = "TIMEOUT", preempted = "PREEMPTED"
    case cancelled = "CANCELLED", nodeFail = "NODE_FAIL", outOfMemory = "OUT_OF_MEMORY", bootFail = "BOOT_FAIL"
    case deadline = "DEADLINE", revoked = "REVOKED"

    /// `sacct` adds who cancelled (`CANCELLED by 1000`); the state is the first word.
    init(slurmText text: String) throws(SlurmOutputError) {
        let word = text.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
        guard let state = SlurmJobState(rawValue: word) else { throw .unknownState(text) }
        self = state
    }

    /// The job is over: its process is gone and the state will not change again.
    var isFinal: Bool {
        switch self {
        case .completed, .failed, .timeout, .preempted, .cancelled, .nodeFail, .outOfMemory, .bootFail, .deadline, .revoked:
            return true
        default:
            return false
        }
    }

    /// The job may still claim or hold a job of ours: not final and not on its way out.
    var isLive: Bool { !isFinal && self != .completing }
}

/// How a Slurm job ended: an array task (`12_3`) or a plain job (`12`).
struct SlurmJobEnd: Equatable, Sendable {
    let id: String
    let state: SlurmJobState
    /// Slurm's `ExitCode=status:signal`: the batch script's exit status, and the signal that ended it (0 for none).
    let exitStatus: Int
    let signal: Int

    /// `exit 3` or `signal 9`, for event messages.
    var exitDescription: String { signal == 0 ? "exit \(exitStatus)" : "exit \(exitStatus), signal \(signal)" }
}

/// Output of a Slurm command that does not read as documented.
enum SlurmOutputError: Error, Equatable, CustomStringConvertible {
    case unknownState(String)
    case malformedLine(String)

    var description: String {
        switch self {
        case let .unknownState(text): return "unknown Slurm job state \"\(text)\""
        case let .malformedLine(line): return "unreadable Slurm output line \"\(line.prefix(200))\""
        }
    }
}

/// Readers of the two places a finished Slurm job's state can be learnt. `sacct` asks the accounting
/// database, which keeps every job but exists only where slurmdbd runs (elsewhere it answers "Slurm
/// accounting storage is disabled"). `scontrol show job` asks the controller, which keeps a finished job
/// `MinJobAge` seconds (300 by default) and then forgets it.
enum SlurmAccounting {
    /// Arguments of `sacct` for the jobs `ids`: one line per job allocation (no steps), `|`-separated.
    static func sacctArguments(ids: [String]) -> [String] {
        ["--noheader", "--parsable2", "--allocations", "--format=JobID,State,ExitCode", "--jobs=" + ids.joined(separator: ",")]
    }

    /// Arguments of `scontrol` for the job `id`: one line per job record.
    static func scontrolArguments(id: String) -> [String] { ["--oneliner", "show", "job", id] }

    /// What `scontrol show job` prints (and exits 1) for a job the controller does not hold, for example one
    /// that ended more than `MinJobAge` ago; any other failure says nothing about the job.
    static let scontrolUnknownJob = "Invalid job id specified"

    /// Lines `JobID|State|ExitCode`; step lines (`12_3.batch`), if any, are skipped. Each line stands alone: one
    /// that does not read (a state this version does not know) is returned as unreadable, not the answer's end.
    static func parseSacct(_ text: String) -> (ends: [SlurmJobEnd], unreadable: [SlurmOutputError]) {
        var ends: [SlurmJobEnd] = [], unreadable: [SlurmOutputError] = []
        for line in text.split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
            do throws(SlurmOutputError) {
                let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                guard fields.count == 3 else { throw .malformedLine(String(line)) }
                if fields[0].contains(".") { continue }
                let (status, signal) = try exitCode(fields[2], line: line)
                ends.append(SlurmJobEnd(id: fields[0], state: try SlurmJobState(slurmText: fields[1]), exitStatus: status,
                                        signal: signal))
            } catch {
                unreadable.append(error)
            }
        }
        return (ends, unreadable)
    }

    /// The record of job `id` among the `Key=Value` lines of `scontrol --oneliner show job`, or nil when none
    /// is it. An array task's record is named by `ArrayJobId_ArrayTaskId`: `scontrol show job 3_0` was seen
    /// to print the record of job 3, which was task 0 of array 1.
    static func parseScontrol(_ text: String, id: String) throws(SlurmOutputError) -> SlurmJobEnd? {
        for line in text.split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
            var fields: [Substring: Substring] = [:]
            for token in line.split(separator: " ") {
                guard let equals = token.firstIndex(of: "=") else { continue }
                fields[token[..<equals]] = fields[token[..<equals]] ?? token[token.index(after: equals)...]
            }
            let recordID = if let array = fields["ArrayJobId"], let task = fields["ArrayTaskId"] { "\(array)_\(task)" }
                           else { fields["JobId"].map(String.init) ?? "" }
            guard recordID == id else { continue }
            guard let state = fields["JobState"], let code = fields["ExitCode"] else { throw .malformedLine(String(line)) }
            let (status, signal) = try exitCode(String(code), line: line)
            return SlurmJobEnd(id: id, state: try SlurmJobState(slurmText: String(state)), exitStatus: status, signal: signal)
        }
        return nil
    }

    private static func exitCode(_ text: String, line: Substring) throws(SlurmOutputError) -> (Int, Int) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let status = Int(parts[0]), let signal = Int(parts[1]) else {
            throw .malformedLine(String(line))
        }
        return (status, signal)
    }
}
