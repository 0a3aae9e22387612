import Foundation
import Glibc
import JobStore
@testable import Service
import TestSupport
import XCTest

/// The readers of Slurm's views of a job: `squeue`, `sacct` and `scontrol show job`.
final class SlurmAccountingTests: XCTestCase {
    /// Captured from Debian's slurm-wlm 22.05 on the one-node cluster of `Tests/Scripts/slurm_cluster.sh`
    /// (`scontrol --oneliner show job ID`), for array 1 of four tasks (`exit 0`, `exit 3`, a cancelled pending
    /// task, `kill -9 $$`), array 5 (a running task scancelled, exiting 0 on SIGTERM) and job 2 (past its
    /// `--time=0:01`).
    private static let scontrol = """
        JobId=3 ArrayJobId=1 ArrayTaskId=0 JobName=unipelt-swp_x UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState=COMPLETED Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:00 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-12-04T10:26:05 EligibleTime=2026-12-04T10:26:05 AccrueTime=2026-12-04T10:26:05 StartTime=2026-12-04T10:26:08 EndTime=2026-12-04T10:26:08 Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-12-04T10:26:08 Scheduler=Main Partition=test AllocNode:Sid=localhost:10796 ReqNodeList=(null) ExcNodeList=(null) NodeList=vm BatchHost=vm NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=(null) WorkDir=/tmp/i16b_slurm StdErr=/tmp/i16b_slurm/unipelt-swp_x-1_0.log StdIn=/dev/null StdOut=/tmp/i16b_slurm/unipelt-swp_x-1_0.log Power=
        JobId=4 ArrayJobId=1 ArrayTaskId=1 JobName=unipelt-swp_x UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=3:0 RunTime=00:00:00 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-12-04T10:26:05 EligibleTime=2026-12-04T10:26:05 AccrueTime=2026-12-04T10:26:05 StartTime=2026-12-04T10:26:08 EndTime=2026-12-04T10:26:08 Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-12-04T10:26:08 Scheduler=Main Partition=test AllocNode:Sid=localhost:10796 ReqNodeList=(null) ExcNodeList=(null) NodeList=vm BatchHost=vm NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=(null) WorkDir=/tmp/i16b_slurm StdErr=/tmp/i16b_slurm/unipelt-swp_x-1_1.log StdIn=/dev/null StdOut=/tmp/i16b_slurm/unipelt-swp_x-1_1.log Power=
        JobId=1 ArrayJobId=1 ArrayTaskId=3 JobName=unipelt-swp_x UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState=FAILED Reason=JobLaunchFailure Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:9 RunTime=00:00:00 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-12-04T10:26:05 EligibleTime=2026-12-04T10:26:05 AccrueTime=2026-12-04T10:26:05 StartTime=2026-12-04T10:26:11 EndTime=2026-12-04T10:26:11 Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-12-04T10:26:11 Scheduler=Main Partition=test AllocNode:Sid=localhost:10796 ReqNodeList=(null) ExcNodeList=(null) NodeList=vm BatchHost=vm NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=(null) WorkDir=/tmp/i16b_slurm StdErr=/tmp/i16b_slurm/unipelt-swp_x-1_3.log StdIn=/dev/null StdOut=/tmp/i16b_slurm/unipelt-swp_x-1_3.log Power=
        JobId=6 ArrayJobId=5 ArrayTaskId=0 JobName=unipelt-swp_y UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901757 Nice=0 Account=(null) QOS=(null) JobState=CANCELLED Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:11 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-12-04T10:26:16 EligibleTime=2026-12-04T10:26:17 AccrueTime=2026-12-04T10:26:17 StartTime=2026-12-04T10:26:17 EndTime=2026-12-04T10:26:28 Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-12-04T10:26:17 Scheduler=Main Partition=test AllocNode:Sid=localhost:10796 ReqNodeList=(null) ExcNodeList=(null) NodeList=vm BatchHost=vm NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=(null) WorkDir=/tmp/i16b_slurm StdErr=/tmp/i16b_slurm/slurm-5_0.out StdIn=/dev/null StdOut=/tmp/i16b_slurm/slurm-5_0.out Power=
        JobId=2 JobName=unipelt-jobs UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901758 Nice=0 Account=(null) QOS=(null) JobState=TIMEOUT Reason=TimeLimit Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:15 RunTime=00:01:21 TimeLimit=00:01:00 TimeMin=N/A SubmitTime=2026-12-04T10:26:05 EligibleTime=2026-12-04T10:26:05 AccrueTime=2026-12-04T10:26:05 StartTime=2026-12-04T10:26:11 EndTime=2026-12-04T10:27:32 Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-12-04T10:26:11 Scheduler=Main Partition=test AllocNode:Sid=localhost:10796 ReqNodeList=(null) ExcNodeList=(null) NodeList=vm BatchHost=vm NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=(null) WorkDir=/tmp/i16b_slurm StdErr=/tmp/i16b_slurm/slurm-2.out StdIn=/dev/null StdOut=/tmp/i16b_slurm/slurm-2.out Power=
        """

    private func end(_ id: String) throws -> SlurmJobEnd? {
        try SlurmAccounting.parseScontrol(Self.scontrol, id: id)
    }

    func testScontrolRecordsGiveTheFinalStateAndExitCodeOfAnArrayTask() throws {
        XCTAssertEqual(try end("1_0"), SlurmJobEnd(id: "1_0", state: .completed, exitStatus: 0, signal: 0))
        XCTAssertEqual(try end("1_1"), SlurmJobEnd(id: "1_1", state: .failed, exitStatus: 3, signal: 0))
        XCTAssertEqual(try end("1_3"), SlurmJobEnd(id: "1_3", state: .failed, exitStatus: 0, signal: 9))
        XCTAssertEqual(try end("5_0"), SlurmJobEnd(id: "5_0", state: .cancelled, exitStatus: 0, signal: 0))
        XCTAssertEqual(try end("2"), SlurmJobEnd(id: "2", state: .timeout, exitStatus: 0, signal: 15))
        XCTAssertEqual(try end("2")?.exitDescription, "exit 0, signal 15")
    }

    func testAnArrayTaskIsFoundByItsArrayIdsNotByTheRawJobIdScontrolAlsoAnswersTo() throws {
        // Job 3 is task 1_0, and `scontrol show job 3_0` printed its record: "3_0" must not read as it.
        XCTAssertNil(try end("3_0"))
        XCTAssertNil(try end("3"), "job 3 is known as 1_0")
        XCTAssertNil(try SlurmAccounting.parseScontrol("", id: "1_2"))
    }

    func testAnUnknownStateOrAMissingExitCodeIsAnErrorNotAGuess() {
        XCTAssertThrowsError(try SlurmAccounting.parseScontrol("JobId=7 JobState=HAPPY ExitCode=0:0", id: "7")) {
            XCTAssertEqual($0 as? SlurmOutputError, .unknownState("HAPPY"))
        }
        XCTAssertThrowsError(try SlurmAccounting.parseScontrol("JobId=7 JobState=COMPLETED", id: "7"))
        XCTAssertThrowsError(try SlurmAccounting.parseScontrol("JobId=7 JobState=COMPLETED ExitCode=0", id: "7"))
    }

    /// `sacct --noheader --parsable2 --allocations --format=JobID,State,ExitCode`. Not captured here (the
    /// test cluster has no slurmdbd, so its sacct answers "Slurm accounting storage is disabled"): the lines
    /// follow sacct's documented `--parsable2` shape, with the `CANCELLED by UID` state sacct prints and a
    /// step line, which `--allocations` leaves out but a reader must not mistake for a job.
    func testSacctLinesGiveTheStateWithoutWhoCancelledAndSkipSteps() throws {
        let text = """
            12_0|COMPLETED|0:0
            12_1|CANCELLED by 1000|0:15
            12_1.batch|CANCELLED|0:15
            12_2|OUT_OF_MEMORY|0:125
            13|NODE_FAIL|1:0
            14_3|PREEMPTED|0:0

            """
        XCTAssertEqual(SlurmAccounting.parseSacct(text).unreadable, [])
        XCTAssertEqual(SlurmAccounting.parseSacct(text).ends, [
            SlurmJobEnd(id: "12_0", state: .completed, exitStatus: 0, signal: 0),
            SlurmJobEnd(id: "12_1", state: .cancelled, exitStatus: 0, signal: 15),
            SlurmJobEnd(id: "12_2", state: .outOfMemory, exitStatus: 0, signal: 125),
            SlurmJobEnd(id: "13", state: .nodeFail, exitStatus: 1, signal: 0),
            SlurmJobEnd(id: "14_3", state: .preempted, exitStatus: 0, signal: 0),
        ])
        // A line that does not read is set aside; the others still answer.
        let partly = SlurmAccounting.parseSacct("12_0|COMPLETED\n12_1|NEW_STATE|0:0\n12_2|FAILED|1:0\n")
        XCTAssertEqual(partly.ends, [SlurmJobEnd(id: "12_2", state: .failed, exitStatus: 1, signal: 0)])
        XCTAssertEqual(partly.unreadable, [.malformedLine("12_0|COMPLETED"), .unknownState("NEW_STATE")])
        XCTAssertEqual(SlurmAccounting.sacctArguments(ids: ["1_0", "2"]).last, "--jobs=1_0,2")
    }

    func testStatesThatEndAJobAreFinalAndACompletingTaskIsNeitherFinalNorLive() throws {
        XCTAssertEqual(Set(SlurmJobState.allCases.filter(\.isFinal)),
                       [.completed, .failed, .timeout, .preempted, .cancelled, .nodeFail, .outOfMemory, .bootFail,
                        .deadline, .revoked])
        XCTAssertFalse(SlurmJobState.completing.isFinal)
        XCTAssertFalse(SlurmJobState.completing.isLive)
        XCTAssertTrue(SlurmJobState.pending.isLive)
        XCTAssertThrowsError(try SlurmPlan.parseQueue("7_0|RUNNING"))
    }

    func testAQueueLineOfAnotherJobNeverStopsThePassAndAnUnknownStateCountsAsLive() throws {
        // Another job's name may contain the separator; a newer Slurm may print a state this code does not know.
        let tasks = try SlurmPlan.parseQueue("""
            9|a|b|RUNNING
            10|someone else's|WHATEVER
            7_0|unipelt-swp_a|DREAMING
            7_1|unipelt-swp_a|PENDING
            """)
        XCTAssertEqual(tasks, [SlurmPlan.Task(id: "7_0", name: "unipelt-swp_a", state: nil),
                               SlurmPlan.Task(id: "7_1", name: "unipelt-swp_a", state: .pending)])
        XCTAssertTrue(tasks[0].isLive)
    }

    func testSlurmJobIdsAreNumbersWithAnOptionalTask() {
        XCTAssertTrue(SlurmEvents.isJobID("12"))
        XCTAssertTrue(SlurmEvents.isJobID("12_3"))
        for bad in ["", "12_", "_3", "12_3_4", "12;rm", "١٢", "12 3"] { XCTAssertFalse(SlurmEvents.isJobID(bad), bad) }
    }

    func testEndEventsNameTheSlurmJobItsStateAndExitAndReadBackAsTheirTask() throws {
        let task = SlurmEvents.Task(jobID: "job_1", attempt: 2, slurmJob: "5_0")
        let ended = try SlurmEvents.ended(task, SlurmJobEnd(id: "5_0", state: .cancelled, exitStatus: 0, signal: 15))
        XCTAssertEqual(ended.type, "slurm_task_ended")
        XCTAssertEqual(ended.message, "Slurm job 5_0 of attempt 2 ended CANCELLED (exit 0, signal 15)")
        XCTAssertEqual(ended.data, #"{"attempt":2,"exit_status":0,"signal":15,"slurm_job_id":"5_0","state":"CANCELLED"}"#)
        XCTAssertEqual(ended.level, .warning)
        let unknown = try SlurmEvents.ended(task, nil)
        XCTAssertTrue(unknown.message.contains("no longer holds its final state"), unknown.message)
        let claimed = try SlurmEvents.claimed(task)
        XCTAssertEqual(claimed.data, #"{"attempt":2,"slurm_job_id":"5_0"}"#)
    }

    /// How the executor reads task ends, with `sacct` and `scontrol` played by scripts on PATH: only a final
    /// state from sacct counts (scontrol is asked for the rest), only scontrol's "Invalid job id specified"
    /// says Slurm forgot a task, and a failed command or an unreadable record leaves the task to the next pass.
    func testOnlyAFinalStateOrAnUnknownJobEndsATask() throws {
        let directory = try makeTemporaryDirectory("slurm-commands")
        let store = try JobStore(path: directory.url.appendingPathComponent("db.sqlite3").path, now: 1)
        func command(_ name: String, _ body: String) throws {
            let path = directory.url.appendingPathComponent(name).path
            try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertEqual(chmod(path, 0o755), 0)
        }
        // $4 is the job id of `scontrol --oneliner show job ID`.
        try command("scontrol", """
            case "$4" in
            5) echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1 ;;
            6) echo "slurm_load_jobs error: Unable to contact slurm controller (connect failure)" >&2; exit 1 ;;
            7) echo "JobId=9 ArrayJobId=7 ArrayTaskId=0 JobState=COMPLETED ExitCode=0:0"
               echo "JobId=10 ArrayJobId=7 ArrayTaskId=1 JobState=NEW_STATE ExitCode=0:0" ;;
            esac
            """)
        try command("sacct", #"echo "sacct: error: Slurm accounting storage is disabled" >&2; exit 1"#)
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        setenv("PATH", directory.url.path + ":" + path, 1)
        defer { setenv("PATH", path, 1) }
        let executor = SlurmExecutor(config: Config(), store: store, log: ServiceLog(minimumLevel: .error), token: nil,
                                     serverURL: { "http://127.0.0.1:1" }, clock: { 1 })
        let completed = SlurmJobEnd(id: "7_0", state: .completed, exitStatus: 0, signal: 0)
        XCTAssertEqual(executor.finalStates(of: ["5_0", "6_0", "7_0", "7_1"]),
                       ["5_0": .forgotten, "7_0": .ended(completed)])

        // With accounting: a state that is not final (a task gone from squeue that slurmdbd still thinks runs)
        // is asked of scontrol; an unreadable sacct line costs only its own task.
        try command("sacct", #"printf '5_0|RUNNING|0:0\n6_0|TIMEOUT|0:15\n7_1|NEW_STATE|0:0\n'"#)
        let accounted = SlurmExecutor(config: Config(), store: store, log: ServiceLog(minimumLevel: .error), token: nil,
                                      serverURL: { "http://127.0.0.1:1" }, clock: { 1 })
        XCTAssertEqual(accounted.finalStates(of: ["5_0", "6_0", "7_1"]),
                       ["5_0": .forgotten, "6_0": .ended(SlurmJobEnd(id: "6_0", state: .timeout, exitStatus: 0, signal: 15))])
    }

    /// The tasks whose end is still to be learnt come from the store each pass: a claim without an end for the
    /// same Slurm job and attempt. Nothing is remembered between passes, so event numbers that SQLite hands out
    /// again after the newest events were deleted (with their sweep) cannot hide a claim.
    func testTasksWithoutEndAreTheClaimsThatNoEndOfTheSameSlurmJobAndAttemptAnswers() throws {
        let directory = try makeTemporaryDirectory("slurm-events")
        let store = try JobStore(path: directory.url.appendingPathComponent("db.sqlite3").path, now: 1)
        func sweep(_ name: String) throws -> String {
            let job = NewJob(cellKey: "rte/K=16/seed=1/lora", task: "rte", k: .examples(16), seed: 1, method: "lora", spec: "{}")
            return try store.write { try $0.createSweep(NewSweep(name: name, spec: "{}"), jobs: [job], now: 1) }.jobIDs[0]
        }
        let first = try sweep("a"), second = try sweep("b")
        let tasks = [SlurmEvents.Task(jobID: first, attempt: 1, slurmJob: "5_0"),
                     SlurmEvents.Task(jobID: first, attempt: 2, slurmJob: "5_1"),
                     SlurmEvents.Task(jobID: second, attempt: 1, slurmJob: "6_0")]
        try store.write { writer in
            for task in tasks { try writer.appendEvent(try SlurmEvents.claimed(task), now: 1) }
            try writer.appendEvent(try SlurmEvents.ended(tasks[0], nil), now: 2)
            // An end of another attempt in the same Slurm job answers nothing.
            try writer.appendEvent(try SlurmEvents.ended(SlurmEvents.Task(jobID: first, attempt: 3, slurmJob: "5_1"), nil), now: 2)
        }
        XCTAssertEqual(try SlurmEvents.tasksWithoutEnd(in: store), [tasks[1], tasks[2]])
        _ = try store.write { try $0.appendEvent(try SlurmEvents.ended(tasks[2], nil), now: 3) }
        XCTAssertEqual(try SlurmEvents.tasksWithoutEnd(in: store), [tasks[1]])
    }
}
