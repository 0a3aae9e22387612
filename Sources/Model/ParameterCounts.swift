/// Trainable parameter counts per component, from shapes only (nothing is allocated), so Table 4 of the
/// paper can be checked for BERT-base without its 110M weights.
public struct ParameterCounts: Equatable, CustomStringConvertible {
    /// Trainable elements per component.
    public let trainable: [ParameterComponent: Int]
    /// What the prefix costs once its MLP is folded into 2·layers·L·H key/value vectors (inference).
    public let foldedPrefix: Int

    public init(config: BertConfig, pelt: PELTConfig, numLabels: Int) {
        var counts: [ParameterComponent: Int] = [:]
        for spec in ParameterLayout.owned(config, pelt, numLabels: numLabels) where spec.trainable {
            counts[spec.component, default: 0] += spec.count
        }
        trainable = counts
        foldedPrefix = pelt.prefix.map { 2 * config.numLayers * $0.length * config.hiddenSize } ?? 0
    }

    public subscript(_ component: ParameterComponent) -> Int { trainable[component] ?? 0 }

    /// Everything that trains.
    public var total: Int { trainable.values.reduce(0, +) }

    /// The PELT modules as stored for inference: folded prefix, adapters, LoRA (no gates, no head).
    public var modulesFolded: Int { foldedPrefix + self[.adapter] + self[.lora] }

    public var description: String {
        ParameterComponent.allCases.filter { self[$0] > 0 }.map { "\($0.rawValue) \(self[$0])" }
            .joined(separator: ", ") + (foldedPrefix > 0 ? " (prefix folded: \(foldedPrefix))" : "")
    }
}
