import ChorusModel
import Foundation
import Synchronization
import Testing

@Suite("ClosureSlot")
struct ClosureSlotTests {
    @Test("a closure kept in a Mutex through ClosureSlot is called at the same stack depth however often it is read")
    func readsDoNotWrap() {
        let depth = Mutex(0)
        let slot = Mutex<ClosureSlot<@Sendable () -> Void>?>(nil)
        slot.withLock { $0 = ClosureSlot { depth.withLock { $0 = Thread.callStackReturnAddresses.count } } }
        func call() -> Int {
            slot.withLock { $0 }?.closure()
            return depth.withLock { $0 }
        }
        let first = call()
        for _ in 0..<100 { _ = slot.withLock { $0 } }
        #expect(call() == first)
        #expect(first < 64, "the stack under the closure: \(first) frames")
    }
}
