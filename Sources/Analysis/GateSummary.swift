import Text

/// One gate's mean value over the dev set at a run's best checkpoint.
public struct GateReading: Equatable, Sendable {
    public let layer: Int
    /// The gated submodule's name (`A`, `P`, `Lq`, `Lv`).
    public let submodule: String
    public let value: Double

    public init(layer: Int, submodule: String, value: Double) {
        self.layer = layer
        self.submodule = submodule
        self.value = value
    }
}

/// The paper's gate figure as numbers: per K, task, method (and variant: the dev-selected one, or every one)
/// the mean over seeds of each layer's and submodule's gate at the run's best checkpoint. Methods without
/// gates have no rows. Gate values are on their own 0–1 scale.
public struct GateSummary: Sendable {
    public let rows: [Row]

    public struct Gate: Encodable, Equatable, Sendable {
        public let layer: Int
        public let submodule: String
        public let mean: Double
        /// Sample standard deviation over seeds; null for one seed.
        @EncodedAsNull public var std: Double?
        public let n: Int
    }

    public struct Row: Encodable, Equatable, Sendable {
        public let object = "gates.row"
        public let k: String
        public let task: String
        public let method: String
        public let variant: String
        /// The seeds whose best-checkpoint gates are in the means.
        public let seeds: [Int]
        /// Layer ascending, then submodule in A, P, Lq, Lv order.
        public let gates: [Gate]

        enum CodingKeys: String, CodingKey { case object, k, task, method, variant, seeds, gates }
    }

    /// The model's gate site order (Analysis cannot import Model; ServiceTests' GateSiteTests compares them).
    static let submoduleOrder = ["A", "P", "Lq", "Lv"]

    /// `gates` holds each run's readings at its best checkpoint, by run id.
    public init(_ grid: ResultGrid, gates: [String: [GateReading]], variants view: VariantView) {
        rows = grid.kValues.flatMap { k in
            grid.tasks.flatMap { task in
                grid.methods.flatMap { method -> [Row] in
                    let cells = view == .selected
                        ? grid.selected(task: task, k: k, method: method).map { [$0] } ?? []
                        : grid.variants(task: task, k: k, method: method)
                    return cells.compactMap { Self.row(cell: $0, gates: gates) }
                }
            }
        }
    }

    private static func row(cell: ResultCell, gates: [String: [GateReading]]) -> Row? {
        let runs = cell.seeds.filter { !(gates[$0.id] ?? []).isEmpty }
        guard !runs.isEmpty else { return nil }
        struct Key: Hashable { let layer: Int; let submodule: String }
        let byGate = Dictionary(grouping: runs.flatMap { gates[$0.id]! }) { Key(layer: $0.layer, submodule: $0.submodule) }
        let order = { (key: Key) in (key.layer, submoduleOrder.firstIndex(of: key.submodule) ?? submoduleOrder.count, key.submodule) }
        let summaries = byGate.keys.sorted { order($0) < order($1) }.map { key in
            let values = byGate[key]!.map(\.value)
            return Gate(layer: key.layer, submodule: key.submodule, mean: Statistics.mean(values)!,
                        std: Statistics.sampleStandardDeviation(values), n: values.count)
        }
        return Row(k: cell.k.description, task: cell.task, method: cell.method, variant: cell.variant,
                   seeds: runs.map(\.seed), gates: summaries)
    }

    /// CSV: `k,task,method,variant,layer,submodule,mean,std,n`, one line per gate.
    public func csv() -> String {
        var table = CSVTable(header: ["k", "task", "method", "variant", "layer", "submodule", "mean", "std", "n"])
        for row in rows {
            for gate in row.gates {
                table.append([row.k, row.task, row.method, row.variant, String(gate.layer), gate.submodule,
                              CSVTable.number(gate.mean), CSVTable.number(gate.std), String(gate.n)])
            }
        }
        return table.text
    }
}
