import Dispatch
import Foundation

/// Blocks until SIGTERM or SIGINT arrives. Signals are received on a queue, not in a handler:
/// SIG_IGN first so the default action (exit) never runs, then a dispatch source per signal.
func waitForTerminationSignal() {
    let stop = DispatchSemaphore(value: 0)
    let sources = [SIGTERM, SIGINT].map { signalNumber -> DispatchSourceSignal in
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { stop.signal() }
        source.resume()
        return source
    }
    stop.wait()
    sources.forEach { $0.cancel() }
}
