import CAllocationCounter
import Foundation

/// Heap allocations made by every thread of the test process in a window, counted by CAllocationCounter (which
/// the test bundle links in place of the C library's malloc family), with the call stacks of the first ones.
struct AllocationReport: CustomStringConvertible {
    /// malloc-family calls (malloc, calloc, realloc, aligned and page-aligned variants).
    let allocations: Int
    let frees: Int
    /// One entry per recorded allocation: size, thread and its call stack, innermost frame first.
    let sites: [String]

    var description: String {
        "\(allocations) allocations, \(frees) frees" + sites.enumerated().map { "\n#\($0.offset + 1) \($0.element)" }.joined()
    }
}

enum AllocationCounter {
    /// Starts counting (and zeroes the counts). Nothing in between `start` and `stop` may run on behalf of the
    /// test but the code measured: every thread's allocations count.
    static func start() { allocation_counter_start(1) }

    /// Stops counting; the report itself is made after counting stopped.
    static func stop() -> AllocationReport {
        allocation_counter_stop()
        let sites = (0..<Int(allocation_counter_site_count())).map { index -> String in
            var size = 0, thread: Int32 = 0
            var frames = [UnsafeMutableRawPointer?](repeating: nil, count: Int(ALLOCATION_COUNTER_MAX_FRAMES))
            let depth = Int(allocation_counter_site(Int32(index), &size, &thread, &frames, Int32(frames.count)))
            // Frame 0 is the counter itself and frame 1 the malloc-family entry point; XCTest's frames say nothing.
            let stack = frames.prefix(depth).dropFirst(2).map { symbol($0!) }.prefix { !$0.contains("XCTest") }
            return "\(size) bytes on thread \(thread) (\(threadName(thread))):\n    " + stack.joined(separator: "\n    ")
        }
        return AllocationReport(allocations: allocation_counter_allocations(), frees: allocation_counter_frees(),
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

    /// The kernel's name of a thread of this process ("model-worker-1", …).
    private static func threadName(_ thread: Int32) -> String {
        let path = "/proc/self/task/\(thread)/comm"
        return (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .newlines) ?? "ended"
    }
}

/// The Swift runtime's demangler (exported by libswiftCore); nil for names that are not Swift's.
@_silgen_name("swift_demangle")
private func swiftDemangle(_ mangledName: UnsafePointer<CChar>, _ length: Int, _ outputBuffer: UnsafeMutablePointer<CChar>?,
                           _ outputBufferSize: UnsafeMutablePointer<Int>?, _ flags: UInt32) -> UnsafeMutablePointer<CChar>?
