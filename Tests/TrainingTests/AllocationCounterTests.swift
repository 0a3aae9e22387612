import Foundation
import XCTest

/// The counter the step allocation test relies on sees allocations of every thread, and nothing else.
final class AllocationCounterTests: XCTestCase {
    func testCountsTheAllocationsOfEveryThreadAndNamesTheirCallers() {
        let ready = DispatchSemaphore(value: 0), go = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0), finish = DispatchSemaphore(value: 0)
        // The thread is started and waiting before the window opens and ends after it closes, so its own start
        // and exit are outside the window.
        let thread = Thread {
            ready.signal()
            go.wait()
            allocateAndFree(alignment: 64)
            done.signal()
            finish.wait()
        }
        thread.start()
        ready.wait()
        let empty = AllocationCounter.measure {}
        let report = AllocationCounter.measure {
            allocateAndFree(alignment: 8)
            go.signal()
            done.wait()
        }
        finish.signal()
        XCTAssertEqual(empty.allocations, 0)
        XCTAssertEqual(report.allocations, 2, "\(report)")
        XCTAssertEqual(report.frees, 2)
        XCTAssertEqual(report.sites.count, 2)
        XCTAssertTrue(report.sites.allSatisfy { $0.contains("allocateAndFree") }, "\(report)")
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
