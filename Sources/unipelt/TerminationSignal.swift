import Dispatch
import Foundation

/// SIGTERM and SIGINT, received on a queue rather than in a handler: SIG_IGN first so the default action
/// (exit) never runs, then a dispatch source per signal. Create it before the process announces itself (opens
/// its port): a signal that arrives before `wait()` is kept, not lost to the default action.
final class TerminationSignal {
    private let stop = DispatchSemaphore(value: 0)
    private var sources: [DispatchSourceSignal] = []

    init() {
        sources = [SIGTERM, SIGINT].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [stop] in stop.signal() }
            source.resume()
            return source
        }
    }

    /// Blocks until one of the signals has arrived (at any time since `init`).
    func wait() {
        stop.wait()
        sources.forEach { $0.cancel() }
    }
}
