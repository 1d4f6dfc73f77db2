import ChorusTestSupport
import ChorusWire
import Foundation
import Synchronization
import Testing

@testable import ChorusActorSystem

/// Where inbound calls start: at once for an active actor, in the peer's task otherwise, and
/// always in the order each peer sent them.
@Suite("Inbound calls")
struct InboundCallsTests {
    /// Records the calls started (by recipient key); a call to `hold` does not return until released.
    final class Recorder: Sendable {
        let started = Mutex<[String]>([])
        let released = Atomic<Bool>(false)
        let hold: String?

        init(hold: String? = nil) { self.hold = hold }

        func start(_ call: Wire.Call) {
            // Bounded: a test that never releases fails on its own expectations first.
            if call.recipientKey == hold {
                for _ in 0..<5_000 where !released.load(ordering: .acquiring) { usleep(1_000) }
            }
            started.withLock { $0.append(call.recipientKey) }
        }
    }

    func call(_ key: String, kind: String) -> Wire.Call {
        Wire.Call(
            id: 1, recipientKind: kind, recipientKey: key, target: "t", genericSubstitutions: [], arguments: [], timeoutMilliseconds: 0, epoch: 0)
    }

    func inbound(_ recorder: Recorder) -> InboundCalls {
        InboundCalls { $0.recipientKind == "active" } start: { call, _, _ in recorder.start(call) }
    }

    @Test("a call on an active actor starts at once, on the caller's thread")
    func activeStartsAtOnce() {
        let recorder = Recorder()
        let calls = inbound(recorder)
        calls.receive(call("a", kind: "active"), from: "p", reply: { _ in })
        calls.receive(call("b", kind: "active"), from: "p", reply: { _ in })
        #expect(recorder.started.withLock { $0 } == ["a", "b"])
        #expect(calls.waiting(from: "p") == 0)
    }

    @Test("a call on an inactive actor starts in the peer's task; the peer's later calls queue behind it, other peers' do not")
    func inactiveQueuesItsPeer() async throws {
        let recorder = Recorder(hold: "cold")
        let calls = inbound(recorder)
        calls.receive(call("cold", kind: "inactive"), from: "p", reply: { _ in })
        calls.receive(call("hot", kind: "active"), from: "p", reply: { _ in })
        calls.receive(call("other", kind: "active"), from: "q", reply: { _ in })
        #expect(recorder.started.withLock { $0 } == ["other"])
        #expect(calls.waiting(from: "p") == 2)
        recorder.released.store(true, ordering: .releasing)
        try await eventually("the peer's calls started") { recorder.started.withLock { $0.count } == 3 }
        #expect(recorder.started.withLock { $0 } == ["other", "cold", "hot"])
        #expect(calls.waiting(from: "p") == 0)
        // Nothing waits any more: an active actor's call starts at once again.
        calls.receive(call("again", kind: "active"), from: "p", reply: { _ in })
        #expect(recorder.started.withLock { $0.last } == "again")
    }

    @Test("many calls from one peer, active and not, start in the order they came")
    func order() async throws {
        let recorder = Recorder()
        let calls = inbound(recorder)
        var random = SeededRandom(seed: 5)
        let keys = (0..<500).map { "k\($0)" }
        for key in keys {
            calls.receive(call(key, kind: Bool.random(using: &random) ? "active" : "inactive"), from: "p", reply: { _ in })
        }
        try await eventually("every call started") { recorder.started.withLock { $0.count } == keys.count }
        #expect(recorder.started.withLock { $0 } == keys)
    }
}
