/// A task's scores on one evaluation: every metric the task reports, and its selection metric.
public struct MetricReport: Equatable, Sendable {
    public let task: GLUETask
    public let values: [Metric: Double]

    /// The value of `task.primaryMetric`.
    public var primary: Double { values[task.primaryMetric] ?? 0 }

    /// Scores a classification task from predicted and true class indices.
    public static func classification(task: GLUETask, predictions: [Int], labels: [Int]) -> MetricReport {
        precondition(!task.isRegression, "MetricReport.classification: \(task.rawValue) is a regression task")
        var values: [Metric: Double] = [:]
        for metric in task.metrics {
            switch metric {
            case .accuracy: values[metric] = Metrics.accuracy(predictions: predictions, labels: labels)
            case .f1: values[metric] = Metrics.f1(predictions: predictions, labels: labels)
            case .matthewsCorrelation:
                values[metric] = Metrics.matthewsCorrelation(predictions: predictions, labels: labels)
            case .pearson, .spearman:
                preconditionFailure("MetricReport: \(metric) is not a classification metric")
            }
        }
        return MetricReport(task: task, values: values)
    }

    /// Scores a regression task (STS-B) from predicted and true scores.
    public static func regression(task: GLUETask, predictions: [Double], labels: [Double]) -> MetricReport {
        precondition(task.isRegression, "MetricReport.regression: \(task.rawValue) is a classification task")
        return MetricReport(task: task, values: [.pearson: Metrics.pearson(predictions, labels),
                                                 .spearman: Metrics.spearman(predictions, labels)])
    }
}
