import CAllocationCounter
import Foundation
import Tensor

/// Heap allocations made by every thread of the test process in a window, counted by CAllocationCounter (which
/// the test bundle links in place of the C library's malloc family), with the call stacks of the first ones.
struct AllocationReport: CustomStringConvertible {
    /// malloc-family calls (malloc, calloc, realloc, aligned and page-aligned variants).
    let allocations: Int
    /// The part of `allocations` called from OpenBLAS's own code.
    let blasAllocations: Int
    let frees: Int
    /// The recorded allocations, in the order they were made.
    let sites: [AllocationSite]

    var description: String {
        "\(allocations) allocations (\(blasAllocations) by OpenBLAS), \(frees) frees" + sites.enumerated().map { "\n#\($0.offset + 1) \($0.element)" }.joined()
    }
}

/// One recorded allocation: its size, the thread that made it and its call stack, innermost frame first.
struct AllocationSite: CustomStringConvertible {
    /// The kernel's thread id (`AllocationCounter.currentThread` of the allocating thread).
    let thread: Int32
    let size: Int
    let stack: [String]

    var description: String {
        "\(size) bytes on thread \(thread) (\(AllocationCounter.threadName(thread))):\n    " + stack.joined(separator: "\n    ")
    }
}

enum AllocationCounter {
    /// Starts counting (and zeroes the counts). Nothing in between `start` and `stop` may run on behalf of the
    /// test but the code measured: every thread's allocations count.
    static func start() {
        _ = attributedBLAS
        allocation_counter_start(1)
    }

    /// OpenBLAS's code, found once by one of its symbols, so that its own allocations are told apart.
    private static let attributedBLAS: Void = {
        precondition(allocation_counter_attribute_library("cblas_sgemm") != 0, "OpenBLAS's cblas_sgemm not found")
    }()

    /// Stops counting; the report itself is made after counting stopped.
    static func stop() -> AllocationReport {
        allocation_counter_stop()
        let sites = (0..<Int(allocation_counter_site_count())).map { index -> AllocationSite in
            var size = 0, thread: Int32 = 0
            var frames = [UnsafeMutableRawPointer?](repeating: nil, count: Int(ALLOCATION_COUNTER_MAX_FRAMES))
            let depth = Int(allocation_counter_site(Int32(index), &size, &thread, &frames, Int32(frames.count)))
            // Frame 0 is the counter itself and frame 1 the malloc-family entry point; XCTest's frames say nothing.
            let stack = frames.prefix(depth).dropFirst(2).map { symbol($0!) }.prefix { !$0.contains("XCTest") }
            return AllocationSite(thread: thread, size: size, stack: Array(stack))
        }
        return AllocationReport(allocations: allocation_counter_allocations(),
                                blasAllocations: allocation_counter_library_allocations(), frees: allocation_counter_frees(),
                                sites: sites)
    }

    static func measure(_ body: () throws -> Void) rethrows -> AllocationReport {
        start()
        defer { allocation_counter_stop() }
        try body()
        return stop()
    }

    /// The demangled name of the function containing `address`, else its module and offset.
    private static func symbol(_ address: UnsafeMutableRawPointer) -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        allocation_counter_describe(address, &buffer, buffer.count)
        return demangle(buffer) ?? String(cString: buffer)
    }

    private static func demangle(_ name: UnsafePointer<CChar>) -> String? {
        guard let demangled = swiftDemangle(name, strlen(name), nil, nil, 0) else { return nil }
        defer { free(demangled) }
        return String(cString: demangled)
    }

    /// Whether OpenBLAS's kernels allocate inside the library: its AVX-512 ones (SkylakeX, Cooperlake, SapphireRapids;
    /// Debian 12 ships OpenBLAS 0.3.21) send small SGEMMs through `sgemm_small_kernel_*`, which mallocs a packing
    /// buffer when the output's column-major rows leave 1 to 8 over a multiple of 16 and k ≥ 32. Its AVX2 kernels
    /// (Haswell, Zen) allocate nothing.
    static var blasKernelsAllocate: Bool {
        ["skylakex", "cooperlake", "sapphirerapids"].contains(BLAS.coreName.lowercased())
    }

    /// The calling thread's kernel id.
    static var currentThread: Int32 { allocation_counter_current_thread() }

    /// The kernel's name of a thread of this process ("model-worker-1", …).
    static func threadName(_ thread: Int32) -> String {
        let path = "/proc/self/task/\(thread)/comm"
        return (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .newlines) ?? "ended"
    }
}

/// The Swift runtime's demangler (exported by libswiftCore); nil for names that are not Swift's.
@_silgen_name("swift_demangle")
private func swiftDemangle(_ mangledName: UnsafePointer<CChar>, _ length: Int, _ outputBuffer: UnsafeMutablePointer<CChar>?,
                           _ outputBufferSize: UnsafeMutablePointer<Int>?, _ flags: UInt32) -> UnsafeMutablePointer<CChar>?
