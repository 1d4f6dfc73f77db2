import ChorusWire
import Synchronization

/// Starts peers' calls in the order each peer sent them, without blocking the transport's thread.
///
/// A transport hands every inbound call over on its own thread (a TCP connection's event loop).
/// Starting a call runs it synchronously up to its hop onto the actor; for an actor that is not
/// in memory that includes activating it, which may read the store and block. So a call on an
/// active actor starts at once, on the transport's thread (no thread hand-off: measured, that
/// hand-off doubled the CPU of a remote call; docs/benchmarks.md), and any other call goes to a
/// task of its peer that starts its calls one after another. A call that arrives while an
/// earlier call of its peer still waits for that task queues behind it, so a peer's calls start
/// in the order they came.
final class InboundCalls: Sendable {
    typealias Start = @Sendable (_ call: Wire.Call, _ from: String, _ reply: @escaping @Sendable (Wire.Reply) -> Void) -> Void

    private struct Queued: Sendable {
        var call: Wire.Call
        var reply: @Sendable (Wire.Reply) -> Void
    }

    private struct Peer {
        var queue: AsyncStream<Queued>.Continuation
        /// Calls handed to the peer's task and not started yet.
        var waiting = 0
    }

    private let peers = Mutex<[String: Peer]>([:])
    private let isActive: @Sendable (Wire.Call) -> Bool
    private let start: Start

    /// `isActive`: whether the call's actor is in memory (its start cannot block). `start`: runs
    /// the call up to its first suspension.
    init(isActive: @escaping @Sendable (Wire.Call) -> Bool, start: @escaping Start) {
        self.isActive = isActive
        self.start = start
    }

    deinit {
        peers.withLock { peers in for peer in peers.values { peer.queue.finish() } }
    }

    /// One inbound call from `peer` (on the transport's thread, in arrival order).
    func receive(_ call: Wire.Call, from peer: String, reply: @escaping @Sendable (Wire.Reply) -> Void) {
        let queue = peers.withLock { peers -> AsyncStream<Queued>.Continuation? in
            if peers[peer]?.waiting ?? 0 == 0, isActive(call) { return nil }
            if peers[peer] == nil { peers[peer] = Peer(queue: startPeerTask(peer)) }
            peers[peer]!.waiting += 1
            return peers[peer]!.queue
        }
        guard let queue else { return start(call, peer, reply) }
        queue.yield(Queued(call: call, reply: reply))
    }

    /// Calls of `peer` waiting for its task (for tests).
    func waiting(from peer: String) -> Int {
        peers.withLock { $0[peer]?.waiting ?? 0 }
    }

    private func startPeerTask(_ peer: String) -> AsyncStream<Queued>.Continuation {
        let (calls, queue) = AsyncStream<Queued>.makeStream()
        Task { [weak self, start] in
            for await queued in calls {
                start(queued.call, peer, queued.reply)
                self?.peers.withLock { $0[peer]?.waiting -= 1 }
            }
        }
        return queue
    }
}
