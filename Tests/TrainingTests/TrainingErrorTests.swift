import Foundation
import Glibc
import Tensor
import XCTest
@testable import Training

/// A write that fails for lack of space must be told apart from other write failures (the service reports
/// it as `disk_full`), by the errno the writer saw, not by its message.
final class TrainingErrorTests: XCTestCase {
    func testFoundationWriteToAFullDeviceIsDiskFull() {
        // /dev/full fails every write with ENOSPC.
        XCTAssertThrowsError(try Data(count: 16).write(to: URL(fileURLWithPath: "/dev/full"))) { cause in
            let error = TrainingError.writeFailure(path: "/dev/full", cause: cause)
            guard case .writeFailed(path: "/dev/full", reason: _, systemError: ENOSPC?) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(error.isDiskFull)
            XCTAssertEqual(error.code, "write_failed")
        }
    }

    func testFoundationUnderlyingPOSIXErrorIsKept() {
        // Foundation wraps the errno of a failed mkdir as the underlying POSIX error (ENOENT here: /proc refuses new entries), as it
        // does for an atomic write that runs out of space (CocoaError 640 over POSIX 28).
        XCTAssertThrowsError(try FileManager.default.createDirectory(atPath: "/proc/self/runs",
                                                                     withIntermediateDirectories: true)) { cause in
            let error = TrainingError.writeFailure(path: "/proc/self/runs", cause: cause)
            XCTAssertEqual(error, .writeFailed(path: "/proc/self/runs", reason: cause.localizedDescription,
                                               systemError: ENOENT))
            XCTAssertFalse(error.isDiskFull)
        }
    }

    func testSafetensorsWriteKeepsTheErrnoOfTheFailingCall() throws {
        let path = "/nonexistent-\(getpid())/last.safetensors"
        let tensor = Tensor(shape: Shape(2), values: [1, 2])
        XCTAssertThrowsError(try Safetensors.write(["w": tensor], to: path)) { cause in
            XCTAssertEqual((cause as? SafetensorsError)?.systemError, ENOENT)
            let error = TrainingError.writeFailure(path: path, cause: cause)
            XCTAssertEqual(error, .writeFailed(path: path, reason: "\(cause)", systemError: ENOENT))
            XCTAssertFalse(error.isDiskFull)
        }
        let full = SafetensorsError(.writeFailed, file: path, "write: no space", systemError: ENOSPC)
        XCTAssertTrue(TrainingError.writeFailure(path: path, cause: full).isDiskFull)
    }

    func testOtherFailuresAreNotDiskFull() {
        XCTAssertFalse(TrainingError.writeFailed(path: "/x", reason: "no errno", systemError: nil).isDiskFull)
        XCTAssertFalse(TrainingError.missingData(path: "/data/glue").isDiskFull)
    }
}
