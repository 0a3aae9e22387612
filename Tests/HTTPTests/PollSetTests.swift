import XCTest
@testable import HTTP

final class PollSetTests: XCTestCase {
    /// Random adds, removes and coolings against a model: the hot and cold slots always hold exactly the
    /// model's connections, each with its own descriptor, and the wake pipe and listener never move.
    func testSlotsFollowAModel() {
        var set = PollSet(wake: 900, listener: 901)
        var hot = Set<UInt64>(), cold = Set<UInt64>()
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<5000 {
            let id = UInt64.random(in: 1...40, using: &generator)
            switch Int.random(in: 0..<3, using: &generator) {
            case 0:
                set.add(id, descriptor: Int32(id))
                if !cold.contains(id) { hot.insert(id) }
            case 1:
                set.remove(id)
                hot.remove(id)
                cold.remove(id)
            default:
                set.cool(id)
                if hot.remove(id) != nil { cold.insert(id) }
            }
            XCTAssertEqual(set.entries[PollSet.wakeSlot].fd, 900)
            XCTAssertEqual(set.entries[PollSet.listenerSlot].fd, 901)
            XCTAssertEqual(Set(set.ids[PollSet.firstConnectionSlot..<set.hotCount]), hot)
            XCTAssertEqual(Set(set.ids[set.hotCount...]), cold)
            XCTAssertEqual(set.ids.count, 2 + hot.count + cold.count)
            for index in PollSet.firstConnectionSlot..<set.entries.count {
                XCTAssertEqual(set.entries[index].fd, Int32(set.ids[index]))
            }
            XCTAssertEqual(set.isHot(id), hot.contains(id))
            XCTAssertEqual(set.hasHotConnections, !hot.isEmpty)
        }
    }
}
