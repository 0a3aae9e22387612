import JobStore
import Training

extension JobFailure {
    /// The one table of failure codes: what an attempt that ended with `error` records. Nil when nothing
    /// should be recorded: for a lost lease, whose job now belongs to someone else, and for a pull worker
    /// that cannot reach the service (or the service cannot serve it) or fetch what the job needs, where a
    /// `failed` would end a job that only needs another try: its lease expires instead, and the job resumes
    /// from its `last` checkpoint at the cost of one attempt.
    init?(attemptError error: Error) {
        switch error {
        case JobStoreError.leaseLost: return nil
        case ServiceClient.ClientError.unreachable: return nil
        case is PullWorker.PreparationError: return nil
        case let ServiceClient.ClientError.refused(status, _, _) where status >= 500: return nil
        case let error as TrainingError where error.isDiskFull:
            self.init(code: "disk_full", message: error.description)
        case let JobStoreError.sqlite(sqlite) where sqlite.isDiskFull:
            self.init(code: "disk_full", message: sqlite.description)
        case let error as TrainingError: self.init(code: error.code, message: error.description)
        case let error as ModelLibrary.LoadError: self.init(code: "model_unavailable", message: error.description)
        case let error as JobSpecCoding.DecodeError: self.init(code: "invalid_spec", message: error.description)
        default: self.init(code: "internal_error", message: "\(error)")
        }
    }
}
