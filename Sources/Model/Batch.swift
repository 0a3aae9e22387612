/// Labels of a batch: class indices (cross-entropy) or regression targets (MSE, one output).
public enum Labels: Equatable, Sendable {
    case classes([Int32])
    case values([Float])

    var count: Int {
        switch self {
        case .classes(let c): return c.count
        case .values(let v): return v.count
        }
    }
}

/// One padded batch as the model consumes it: row-major (size, seqLen) ids, token types and attention mask
/// (1 = real token, 0 = padding), and one label per sample.
public struct Batch: Equatable, Sendable {
    public let size: Int
    public let seqLen: Int
    public let inputIds: [Int32]
    public let tokenTypeIds: [Int32]
    public let attentionMask: [Int32]
    public let labels: Labels

    public init(size: Int, seqLen: Int, inputIds: [Int32], tokenTypeIds: [Int32], attentionMask: [Int32],
                labels: Labels) throws {
        guard size > 0, seqLen > 0 else { throw ModelError.invalidBatch(reason: "empty batch \(size)×\(seqLen)") }
        for (field, count) in [("inputIds", inputIds.count), ("tokenTypeIds", tokenTypeIds.count),
                               ("attentionMask", attentionMask.count)] where count != size * seqLen {
            throw ModelError.invalidBatch(reason: "\(field) has \(count) entries, expected \(size)×\(seqLen)")
        }
        guard labels.count == size else {
            throw ModelError.invalidBatch(reason: "\(labels.count) labels for \(size) samples")
        }
        self.size = size
        self.seqLen = seqLen
        self.inputIds = inputIds
        self.tokenTypeIds = tokenTypeIds
        self.attentionMask = attentionMask
        self.labels = labels
    }
}

/// The four gate sites of a UniPELT layer. The raw value is the site's code wherever a gate is
/// written down (`gates.csv`, the API's `module`, the job store's `submodule` column), and also its description,
/// so interpolating a site writes its code.
public enum GateSite: String, CaseIterable, Codable, Sendable, CustomStringConvertible {
    case adapter = "A"
    case prefix = "P"
    case loraQuery = "Lq"
    case loraValue = "Lv"

    public var description: String { rawValue }
}

/// One gate's values after a forward: one scalar per sample and their batch mean.
public struct GateValues: Equatable, Sendable {
    public let layer: Int
    public let site: GateSite
    public let perSample: [Float]
    public var mean: Float { perSample.reduce(0, +) / Float(max(perSample.count, 1)) }
}
