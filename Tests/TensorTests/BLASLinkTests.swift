import XCTest
import CBLAS

/// The OpenBLAS system library links and computes: a 2×2 product checked by hand.
final class BLASLinkTests: XCTestCase {
    func testSGEMMLinksAndMultiplies() {
        let a: [Float] = [1, 2, 3, 4]
        let b: [Float] = [5, 6, 7, 8]
        var c = [Float](repeating: 0, count: 4)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 2, 1, a, 2, b, 2, 0, &c, 2)
        XCTAssertEqual(c, [19, 22, 43, 50])
    }
}
