import JobStore
import Model

// The model names its gate sites and the store names its `gates.submodule` values with two enums, because
// JobStore stands alone and may not import Model. This exhaustive switch is the one bridge between them: a
// site added to the model does not compile until it is mapped, and `GateSiteTests` checks that the mapping
// is a bijection keeping each code, and that the codes are those the schema's CHECK constraint allows.
extension GateSubmodule {
    init(_ site: GateSite) {
        switch site {
        case .adapter: self = .adapter
        case .prefix: self = .prefix
        case .loraQuery: self = .loraQuery
        case .loraValue: self = .loraValue
        }
    }
}
