import Tensor

/// One tensor this model owns, with its value and gradient buffers (slices of the store's flat buffers).
public struct OwnedParameter {
    public let spec: ParameterSpec
    public let value: UnsafeMutableBufferPointer<Float>
    /// Written by backward only when `spec.trainable`; stays zero otherwise.
    public let gradient: UnsafeMutableBufferPointer<Float>

    public var name: String { spec.name }
    public var shape: [Int] { spec.shape }
    public var trainable: Bool { spec.trainable }
    public var weightDecay: Bool { spec.weightDecay }
}

/// The parameter registry: every tensor a model owns, in a stable order, with stable Hugging Face /
/// adapter-transformers names. Values and gradients are two flat parallel buffers (llm.c), so the optimiser
/// and the gradient-norm clip are single loops and AdamW's m/v can parallel them.
public final class ParameterStore {
    public let parameters: [OwnedParameter]
    /// Flat value and gradient buffers, `count` floats each.
    public let values: UnsafeMutablePointer<Float>
    public let gradients: UnsafeMutablePointer<Float>
    public let count: Int
    private let index: [String: Int]

    init(specs: [ParameterSpec]) {
        count = specs.reduce(0) { $0 + $1.count }
        values = .allocate(capacity: max(count, 1))
        values.initialize(repeating: 0, count: max(count, 1))
        gradients = .allocate(capacity: max(count, 1))
        gradients.initialize(repeating: 0, count: max(count, 1))
        var offset = 0
        var list: [OwnedParameter] = []
        for spec in specs {
            list.append(OwnedParameter(spec: spec,
                                       value: UnsafeMutableBufferPointer(start: values + offset, count: spec.count),
                                       gradient: UnsafeMutableBufferPointer(start: gradients + offset, count: spec.count)))
            offset += spec.count
        }
        parameters = list
        index = Dictionary(uniqueKeysWithValues: specs.enumerated().map { ($1.name, $0) })
    }

    deinit {
        values.deallocate()
        gradients.deallocate()
    }

    /// The parameters that train, in registry order.
    public var trainable: [OwnedParameter] { parameters.filter(\.trainable) }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    public func parameter(named name: String) throws -> OwnedParameter {
        guard let i = index[name] else { throw ModelError.unknownParameter(name: name) }
        return parameters[i]
    }

    func lookup(_ name: String) -> OwnedParameter? { index[name].map { parameters[$0] } }

    public func zeroGradients() { Buffer.zero(gradients, count) }

    /// Overwrites one tensor's values (checkpoint restore, golden tests).
    public func setValue(_ name: String, _ data: [Float]) throws {
        let p = try parameter(named: name)
        guard data.count == p.value.count else {
            throw ModelError.shapeMismatch(path: "(in memory)", name: name, expected: p.shape, found: [data.count])
        }
        _ = p.value.initialize(from: data)
    }
}
