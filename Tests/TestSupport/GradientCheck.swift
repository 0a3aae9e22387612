import Foundation
import XCTest

/// Central finite differences of a scalar loss against an analytic gradient. The loss is evaluated by the
/// Float kernels and summed in Double; `h` trades truncation (h²) against Float rounding (ε/h).
/// Returns the worst error scaled by max(1, |gradient|) and fails above `tolerance`.
@discardableResult
public func checkGradient(_ label: String, _ input: inout [Float], analytic: [Float], h: Float = 1e-2,
                   tolerance: Double = 2e-3, file: StaticString = #filePath, line: UInt = #line,
                   loss: ([Float]) -> Double) -> Double {
    XCTAssertEqual(input.count, analytic.count, "\(label): gradient length", file: file, line: line)
    var worst = 0.0
    for i in 0..<input.count {
        let saved = input[i]
        input[i] = saved + h
        let plus = loss(input)
        input[i] = saved - h
        let minus = loss(input)
        input[i] = saved
        let numeric = (plus - minus) / (2 * Double(h))
        let error = abs(numeric - Double(analytic[i])) / max(1, abs(numeric))
        worst = max(worst, error)
        if error > tolerance {
            XCTFail("\(label)[\(i)]: analytic \(analytic[i]) vs numeric \(numeric)", file: file, line: line)
            return error
        }
    }
    FDReport.record(label, worst)
    return worst
}

/// Collects the worst finite-difference error per check so a run can print them.
public enum FDReport {
    nonisolated(unsafe) public static var errors: [String: Double] = [:]
    static let lock = NSLock()
    public static func record(_ label: String, _ error: Double) {
        lock.lock(); defer { lock.unlock() }
        errors[label] = max(errors[label] ?? 0, error)
        if ProcessInfo.processInfo.environment["TENSOR_FD_REPORT"] != nil {
            print(String(format: "FD %@: max scaled error %.2e", label, error))
        }
    }
}

/// Σ w·y in Double: the scalar loss whose gradient with respect to y is w.
public func weightedSum(_ y: [Float], _ w: [Float]) -> Double {
    zip(y, w).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
}
