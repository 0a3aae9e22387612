import Text

extension Trainer {
    /// Loads a checkpoint written by a run of this same spec (`best` or `last`) and scores it on the dev
    /// and test splits: what a downloaded checkpoint gives, with the task's selection metric.
    public func evaluateCheckpoint(at path: String) throws -> (dev: Double, test: Double) {
        try restore(from: path)
        let dev = try evaluate(data.dev, plan: devPlan, collectGates: false)
        let test = try evaluate(data.test, plan: testPlan, collectGates: false)
        return (dev.report.primary, test.report.primary)
    }
}
