import XCTest

/// Fails unless every element of `actual` is close to the same element of `expected`:
///
///     |a − e| ≤ max(atol, rtol · |e|)
///
/// an absolute floor for values near zero and a relative bound for large ones (Python's `math.isclose`,
/// measured against the expected value). `rtol` 0 is a plain absolute bound. One failure names the worst
/// element (largest excess over its bound) and how many failed. Returns the largest |a − e|, so a test can
/// print how much room its tolerance leaves.
@discardableResult
public func assertClose(_ actual: [Float], _ expected: [Float], rtol: Float = 0, atol: Float, _ label: String,
                        file: StaticString = #filePath, line: UInt = #line) -> Float {
    XCTAssertEqual(actual.count, expected.count, "\(label): element count", file: file, line: line)
    var largest: Float = 0
    var worst: (index: Int, excess: Float)?
    var failures = 0
    for i in 0..<min(actual.count, expected.count) {
        let diff = abs(actual[i] - expected[i])
        largest = max(largest, diff)
        let bound = max(atol, rtol * abs(expected[i]))
        // Written so that a NaN on either side fails.
        guard !(diff <= bound) else { continue }
        failures += 1
        let excess = diff.isNaN ? .infinity : diff - bound
        if worst == nil || excess > worst!.excess { worst = (i, excess) }
    }
    if let (i, _) = worst {
        XCTFail("\(label): \(failures) of \(actual.count) elements differ beyond max(atol \(atol), rtol \(rtol)·|e|); "
                + "worst is element \(i): \(actual[i]) vs \(expected[i]) (|Δ| \(abs(actual[i] - expected[i]))); "
                + "largest |Δ| \(largest)", file: file, line: line)
    }
    return largest
}
