@testable import Analysis
import JobStore
import Model
@testable import Service
import XCTest

/// The model's gate sites reach the store through `GateSubmodule.init(_:)`: every site has its own column
/// value, every column value is some site's, and both spell the site the same way (the store's codes are
/// checked against the schema's CHECK constraint in `GateColumnTests`). Analysis, which sees neither enum,
/// orders the codes as the model does.
final class GateSiteTests: XCTestCase {
    func testSitesMapOneToOneOntoStoredSubmodulesKeepingTheirCodes() {
        let mapped = GateSite.allCases.map(GateSubmodule.init)
        XCTAssertEqual(Set(mapped), Set(GateSubmodule.allCases))
        XCTAssertEqual(mapped.count, GateSubmodule.allCases.count)
        for site in GateSite.allCases {
            XCTAssertEqual(GateSubmodule(site).rawValue, site.rawValue, "\(site)")
        }
    }

    func testAnalysisOrdersGatesInTheModelsSiteOrder() {
        XCTAssertEqual(GateSummary.submoduleOrder, GateSite.allCases.map(\.rawValue))
    }
}
