/// Linear warmup from 0, then linear decay to 0 at `totalSteps` (HF `get_linear_schedule_with_warmup`).
public struct LearningRateSchedule: Equatable, Sendable {
    public let peak: Double
    public let totalSteps: Int
    public let warmupSteps: Int

    /// `warmupRatio` of all steps, rounded up as HF's `get_warmup_steps` does.
    public init(peak: Double, totalSteps: Int, warmupRatio: Double) {
        self.peak = peak
        self.totalSteps = totalSteps
        warmupSteps = Int((warmupRatio * Double(totalSteps)).rounded(.up))
    }

    /// The rate for the optimiser step with 0-based index `step`.
    public func rate(atStep step: Int) -> Double {
        if step < warmupSteps {
            return peak * Double(step) / Double(warmupSteps)
        }
        let remaining = Double(totalSteps - step) / Double(max(1, totalSteps - warmupSteps))
        return peak * max(0, remaining)
    }
}
