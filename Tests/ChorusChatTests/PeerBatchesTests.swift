@testable import ChorusChat
import ChorusTestSupport
import Synchronization
import Testing

@Suite struct PeerBatchesTests {
    /// Records each batch, and holds the first one of peer "a" until the test opens the gate.
    final class Recorder: Sendable {
        let batches = Mutex<[String]>([])
        let gate = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let waiting = Atomic(false)

        func handle(_ batch: [Int], _ peer: String) async {
            if peer == "a", batches.withLock({ !$0.contains { $0.hasPrefix("a") } }) {
                await withCheckedContinuation { continuation in
                    gate.withLock { $0 = continuation }
                    waiting.store(true, ordering: .releasing)
                }
            }
            batches.withLock { $0.append("\(peer):\(batch.map(String.init).joined(separator: ","))") }
        }

        func open() {
            gate.withLock { $0?.resume(); $0 = nil }
        }
    }

    @Test("each peer's items are handed on in order, everything queued while a batch is handled as the next batch, and peers do not wait for each other")
    func orderAndBatching() async throws {
        let recorder = Recorder()
        let batches = PeerBatches<Int> { batch, peer in await recorder.handle(batch, peer) }
        batches.append([1], for: "a")
        try await eventually("the first batch is being handled") { recorder.waiting.load(ordering: .acquiring) }
        batches.append([2, 3], for: "a")
        batches.append([4], for: "a")
        batches.append([9], for: "b")
        try await eventually("peer b is handled while peer a waits") { recorder.batches.withLock { $0 == ["b:9"] } }
        recorder.open()
        try await eventually("peer a's items arrive") { recorder.batches.withLock { $0.count == 3 } }
        #expect(recorder.batches.withLock { $0 } == ["b:9", "a:1", "a:2,3,4"])
        // Idle again: the next item starts a new batch.
        batches.append([5], for: "a")
        try await eventually("a later item") { recorder.batches.withLock { $0.count == 4 } }
        #expect(recorder.batches.withLock { $0.last } == "a:5")
    }
}
