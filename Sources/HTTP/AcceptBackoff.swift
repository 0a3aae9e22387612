/// Accept retry delays after resource errors: 5 ms doubling up to 1 s, as Go's `Serve` does.
struct AcceptBackoff {
    private(set) var delay: Double = 0

    mutating func next() -> Double {
        delay = delay == 0 ? 0.005 : min(1, delay * 2)
        return delay
    }

    mutating func reset() { delay = 0 }
}
