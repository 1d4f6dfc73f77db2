import Synchronization

/// Items for each peer, queued from any thread and handed on in the order they were queued: one
/// task per peer, running only while it has something to hand on, takes everything queued
/// meanwhile as one batch and waits for `handle` before it takes the next.
///
/// Replication uses one on each side of the wire: ``ReplicaSender`` sends each batch as one call,
/// and ``ChatNodeActor/replicate(_:from:)`` hands each batch a peer sent to its actors. The calls
/// are one-way (nothing waits for the receiver), so the receiving side keeps the order itself:
/// two batches of one peer handled side by side could reach one actor in either order.
final class PeerBatches<Item: Sendable>: Sendable {
    private struct Queue {
        var items: [Item] = []
        var running = false
    }
    private let queues = Mutex<[String: Queue]>([:])
    private let handle: @Sendable (_ batch: [Item], _ peer: String) async -> Void

    init(handle: @escaping @Sendable (_ batch: [Item], _ peer: String) async -> Void) {
        self.handle = handle
    }

    /// Queues `items` for `peer`, starting its task if it is not running.
    func append(_ items: some Sequence<Item>, for peer: String) {
        let start = queues.withLock { queues -> Bool in
            queues[peer, default: Queue()].items.append(contentsOf: items)
            guard !queues[peer]!.running else { return false }
            queues[peer]!.running = true
            return true
        }
        if start { Task { await self.drain(peer) } }
    }

    private func drain(_ peer: String) async {
        while true {
            let batch = queues.withLock { queues -> [Item] in
                let batch = queues[peer]?.items ?? []
                queues[peer]?.items = []
                if batch.isEmpty { queues[peer]?.running = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            await handle(batch, peer)
        }
    }
}
