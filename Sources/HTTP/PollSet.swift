#if canImport(Glibc)
import Glibc
#endif

/// The descriptors the loop polls. Slots `0..<hotCount` are hot: the wake pipe, the listener (-1 while
/// paused or closed, which `poll` skips) and recently armed connections. The rest are cold: keep-alive
/// connections idle for a while, which the loop polls only every `EventLoop.coldPollInterval` while hot
/// traffic flows, so a thousand idle clients do not tax every request. Add, remove and cool are O(1) swaps.
struct PollSet {
    static let wakeSlot = 0, listenerSlot = 1, firstConnectionSlot = 2

    /// Settable so `poll` can write `revents`; slots are rearranged only through the methods below.
    var entries: [pollfd]
    private(set) var ids: [UInt64]
    private(set) var hotCount = firstConnectionSlot
    private var slots: [UInt64: Int] = [:]

    init(wake: Int32, listener: Int32) {
        entries = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0), pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
        ids = [0, 0]
    }

    var hasHotConnections: Bool { hotCount > Self.firstConnectionSlot }

    func isHot(_ id: UInt64) -> Bool { slots[id].map { $0 < hotCount } ?? false }

    mutating func setListener(_ descriptor: Int32) {
        entries[Self.listenerSlot].fd = descriptor
    }

    /// Adds a connection as hot.
    mutating func add(_ id: UInt64, descriptor: Int32) {
        guard slots[id] == nil else { return }
        entries.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0))
        ids.append(id)
        slots[id] = entries.count - 1
        swapSlots(entries.count - 1, hotCount)
        hotCount += 1
    }

    mutating func remove(_ id: UInt64) {
        guard let slot = slots[id] else { return }
        var hole = slot
        if slot < hotCount {
            swapSlots(slot, hotCount - 1)
            hotCount -= 1
            hole = hotCount
        }
        swapSlots(hole, entries.count - 1)
        slots[id] = nil
        entries.removeLast()
        ids.removeLast()
    }

    /// Moves a hot connection to the cold slots.
    mutating func cool(_ id: UInt64) {
        guard let slot = slots[id], slot < hotCount else { return }
        swapSlots(slot, hotCount - 1)
        hotCount -= 1
    }

    private mutating func swapSlots(_ a: Int, _ b: Int) {
        guard a != b else { return }
        entries.swapAt(a, b)
        ids.swapAt(a, b)
        slots[ids[a]] = a
        slots[ids[b]] = b
    }
}
