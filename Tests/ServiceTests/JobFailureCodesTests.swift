import Foundation
import JobStore
@testable import Service
import XCTest

/// What an attempt that ended with an error records, and what a pull worker's attempt leaves alone.
final class JobFailureCodesTests: XCTestCase {
    func testAFaultOfTheJobIsRecordedAndAnOutageOrAFailedFetchIsLeftToTheLeasesExpiry() {
        XCTAssertEqual(JobFailure(attemptError: ServiceClient.ClientError.refused(status: 404, code: "not_found", message: "m"))?.code,
                       "internal_error")
        XCTAssertEqual(JobFailure(attemptError: JobSpecCoding.DecodeError(description: "no task"))?.code, "invalid_spec")
        let nothingRecorded: [Error] = [
            JobStoreError.leaseLost(jobID: "job_1"),
            ServiceClient.ClientError.unreachable(url: "http://head:8080", reason: "connection refused"),
            ServiceClient.ClientError.refused(status: 503, code: "unavailable", message: "busy"),
            PullWorker.PreparationError(what: "the model", reason: ServiceClient.ClientError.checksumMismatch(
                url: "v1/models/m/files/x", expected: "a", actual: "b")),
        ]
        for error in nothingRecorded { XCTAssertNil(JobFailure(attemptError: error), "\(error)") }
    }
}
