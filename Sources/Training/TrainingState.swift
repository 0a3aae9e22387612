import Tensor

/// Everything besides tensors that a resumed job needs to continue exactly where it stopped (saved as JSON in the
/// checkpoint's metadata). Position: `batchInEpoch` batches of epoch `epoch` are done; that epoch's order is
/// replayed from `epochOrderRNG`, the data-order generator as it was when the epoch began.
public struct TrainingState: Codable, Equatable, Sendable {
    /// Optimiser steps taken.
    public var step = 0
    public var epoch = 0
    public var batchInEpoch = 0
    public var epochOrderRNG: RNGState
    public var dropoutRNG: RNGState
    public var earlyStopping: EarlyStopping
    /// Training loss summed since the last evaluation, and the number of steps in it.
    public var lossSum = 0.0
    public var lossSteps = 0
    /// Every evaluation so far (the curves), oldest first.
    public var evaluations: [EvaluationRecord] = []
    /// The step whose parameters the best state holds (nil before the first evaluation).
    public var bestStateStep: Int?
    /// An evaluation was due at `step` but was interrupted; a resumed run does it first.
    public var evaluationPending = false

    init(seed: UInt64, patience: Int) {
        epochOrderRNG = RNG(seed: seed, stream: .dataOrder).state
        dropoutRNG = RNG(seed: seed, stream: .dropout).state
        earlyStopping = EarlyStopping(patience: patience)
    }
}
