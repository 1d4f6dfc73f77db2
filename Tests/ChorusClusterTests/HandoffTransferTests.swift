import ChorusCluster
import Testing

@Suite("Hand-off transfer")
struct HandoffTransferTests {
    typealias Transfer = HandoffTransfer<Int>

    @Test("keys go one after another: every page, then the final step, then the next key")
    func order() {
        var transfer = Transfer(moves: [.init(key: "channel/1", owner: "b"), .init(key: "channel/2", owner: "c")])
        let r1 = transfer.start()
        #expect(r1 == .sendPage(key: "channel/1", after: nil, to: "b"))
        let r2 = transfer.pageStored(key: "channel/1", after: nil, last: 10)
        #expect(r2 == .sendPage(key: "channel/1", after: 10, to: "b"))
        let r3 = transfer.pageStored(key: "channel/1", after: 10, last: 20)
        #expect(r3 == .sendPage(key: "channel/1", after: 20, to: "b"))
        let r4 = transfer.pageStored(key: "channel/1", after: 20, last: nil)
        #expect(r4 == .sendFinal(key: "channel/1", to: "b"), "the final step only once a page comes back empty")
        let r5 = transfer.finalStored(key: "channel/1")
        #expect(r5 == .sendPage(key: "channel/2", after: nil, to: "c"))
        let r6 = transfer.pageStored(key: "channel/2", after: nil, last: 3)
        #expect(r6 == .sendPage(key: "channel/2", after: 3, to: "c"))
        let r7 = transfer.pageStored(key: "channel/2", after: 3, last: nil)
        #expect(r7 == .sendFinal(key: "channel/2", to: "c"))
        #expect(!transfer.isOver)
        let r8 = transfer.finalStored(key: "channel/2")
        #expect(r8 == .finished(moved: 2))
        #expect(transfer.isOver)
    }

    @Test("an empty key takes one empty page and its final step; no keys finish at once")
    func emptyKeys() {
        var transfer = Transfer(moves: [.init(key: "user/7", owner: "b")])
        let r1 = transfer.start()
        #expect(r1 == .sendPage(key: "user/7", after: nil, to: "b"))
        let r2 = transfer.pageStored(key: "user/7", after: nil, last: nil)
        #expect(r2 == .sendFinal(key: "user/7", to: "b"))
        let r3 = transfer.finalStored(key: "user/7")
        #expect(r3 == .finished(moved: 1))

        var nothing = Transfer(moves: [])
        let r4 = nothing.start()
        #expect(r4 == .finished(moved: 0))
        let r5 = nothing.start()
        #expect(r5 == nil, "a second start is ignored")
    }

    @Test("a failure before the end aborts, once; every later input is ignored")
    func failure() {
        var transfer = Transfer(moves: [.init(key: "channel/1", owner: "b"), .init(key: "channel/2", owner: "b")])
        _ = transfer.start()
        _ = transfer.pageStored(key: "channel/1", after: nil, last: 5)
        let r1 = transfer.failed("b did not answer")
        #expect(r1 == .abort(reason: "b did not answer"))
        #expect(transfer.isOver)
        let r2 = transfer.pageStored(key: "channel/1", after: 5, last: nil)
        #expect(r2 == nil, "the answer to the step that failed comes too late")
        let r3 = transfer.finalStored(key: "channel/1")
        #expect(r3 == nil)
        let r4 = transfer.failed("again")
        #expect(r4 == nil, "a hand-off aborts once")
        let r5 = transfer.start()
        #expect(r5 == nil)
    }

    @Test("answers that do not fit the awaited step are ignored and change nothing")
    func strayAnswers() {
        var transfer = Transfer(moves: [.init(key: "channel/1", owner: "b"), .init(key: "channel/2", owner: "c")])
        let r0 = transfer.pageStored(key: "channel/1", after: nil, last: 5)
        #expect(r0 == nil, "nothing was asked before start")
        _ = transfer.start()
        _ = transfer.pageStored(key: "channel/1", after: nil, last: 5)
        let r1 = transfer.pageStored(key: "channel/1", after: nil, last: 5)
        #expect(r1 == nil, "a duplicate of the first page's answer")
        let r2 = transfer.finalStored(key: "channel/1")
        #expect(r2 == nil, "no final step before the last page")
        let r3 = transfer.pageStored(key: "channel/2", after: 5, last: 9)
        #expect(r3 == nil, "another key's answer")
        let r4 = transfer.pageStored(key: "channel/1", after: 5, last: nil)
        #expect(r4 == .sendFinal(key: "channel/1", to: "b"), "the awaited answer still counts")
        let r5 = transfer.pageStored(key: "channel/1", after: 5, last: nil)
        #expect(r5 == nil, "a duplicate of the last page's answer")
        _ = transfer.finalStored(key: "channel/1")
        let r6 = transfer.finalStored(key: "channel/1")
        #expect(r6 == nil, "a duplicate final answer does not skip the next key")
        _ = transfer.pageStored(key: "channel/2", after: nil, last: nil)
        let r7 = transfer.finalStored(key: "channel/2")
        #expect(r7 == .finished(moved: 2))
        let r8 = transfer.finalStored(key: "channel/2")
        #expect(r8 == nil, "nothing after the end")
        let r9 = transfer.failed("late")
        #expect(r9 == nil, "a finished hand-off cannot abort")
    }
}
