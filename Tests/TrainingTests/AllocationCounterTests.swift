import Foundation
import Tensor
import XCTest

/// The counter the step allocation test relies on sees allocations of every thread, and nothing of its own.
/// Threads of earlier tests may still be ending while this one runs, so the assertions are on what the test's
/// own two threads allocated, told apart by the thread each recorded allocation names.
final class AllocationCounterTests: XCTestCase {
    func testCountsTheAllocationsOfEveryThreadAndNamesTheirCallers() {
        let ready = DispatchSemaphore(value: 0), go = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0), finish = DispatchSemaphore(value: 0)
        // The thread is started and waiting before the window opens and ends after it closes, so its own start
        // and exit are outside the window.
        nonisolated(unsafe) var otherThread: Int32 = 0
        let thread = Thread {
            otherThread = AllocationCounter.currentThread
            ready.signal()
            go.wait()
            allocateAndFree(alignment: 64)
            done.signal()
            finish.wait()
        }
        thread.start()
        ready.wait()
        let thisThread = AllocationCounter.currentThread
        XCTAssertNotEqual(thisThread, otherThread)
        let empty = AllocationCounter.measure {}
        let report = AllocationCounter.measure {
            allocateAndFree(alignment: 8)
            go.signal()
            done.wait()
        }
        finish.signal()
        XCTAssertEqual(empty.sites.filter { $0.thread == thisThread }.count, 0, "\(empty)")
        let ours = report.sites.filter { [thisThread, otherThread].contains($0.thread) }
        XCTAssertEqual(ours.map(\.thread), [thisThread, otherThread], "one allocation on each thread, in order: \(report)")
        XCTAssertTrue(ours.allSatisfy { $0.stack.contains { $0.contains("allocateAndFree") } }, "\(report)")
        XCTAssertEqual(ours.map(\.size), [100, 100], "\(report)")
        // Other threads can only add to the counts.
        XCTAssertGreaterThanOrEqual(report.allocations, 2, "\(report)")
        XCTAssertGreaterThanOrEqual(report.frees, 2, "\(report)")
    }

    /// Allocations called from OpenBLAS's own code are counted apart: a small SGEMM whose output's column-major
    /// rows (here `n`) leave 4 over a multiple of 16, with k = 64, allocates inside the library exactly when
    /// `AllocationCounter.blasKernelsAllocate`.
    func testTellsOpenBLASsOwnAllocationsApart() {
        let (m, n, k) = (16, 4, 64)
        let a = [Float](repeating: 1, count: m * k), b = [Float](repeating: 2, count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        let thisThread = AllocationCounter.currentThread
        let report = a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    AllocationCounter.measure {
                        BLAS.gemm(.none, .none, m: m, n: n, k: k, a: a.baseAddress!, b: b.baseAddress!, c: c.baseAddress!)
                    }
                }
            }
        }
        XCTAssertEqual(c[0], Float(2 * k))
        let ours = report.sites.filter { $0.thread == thisThread }
        if AllocationCounter.blasKernelsAllocate {
            XCTAssertEqual(ours.count, 1, "\(report)")
            XCTAssertTrue(ours.first?.stack.prefix(3).contains { $0.contains("sgemm_small_kernel") } == true, "\(report)")
            XCTAssertGreaterThanOrEqual(report.blasAllocations, 1, "\(report)")
        } else {
            XCTAssertEqual(ours.count, 0, "\(BLAS.coreName) kernels: \(report)")
        }
    }
}

/// One allocation and its free, out of line and not private (private symbols are not exported), so that it
/// shows by name in the recorded call stacks.
@inline(never)
func allocateAndFree(alignment: Int) {
    let block = UnsafeMutableRawPointer.allocate(byteCount: 100, alignment: alignment)
    block.storeBytes(of: 1, as: UInt8.self)
    block.deallocate()
}
