import ChorusModel
import Logging
import Synchronization

/// Hands a channel's events to an edge on another node, in order.
///
/// `deliver` only queues (it runs inside the channel actor's turn). One sending task per peer edge
/// takes everything queued and sends it as one call, waits for it, and repeats: events stay in
/// order, and under load each call carries many events.
final class RemoteEdgeSink: EdgeEventSink {
    let edgeName: String
    private let nodeActor: ChatNodeActor
    private let logger: Logger

    private struct State {
        var queue: [ChannelEvent] = []
        var sending = false
    }
    private let state = Mutex(State())

    init(edgeName: String, nodeActor: ChatNodeActor, logger: Logger) {
        self.edgeName = edgeName
        self.nodeActor = nodeActor
        self.logger = logger
    }

    func deliver(_ event: ChannelEvent) {
        let start = state.withLock { state -> Bool in
            state.queue.append(event)
            guard !state.sending else { return false }
            state.sending = true
            return true
        }
        if start { Task { await self.drain() } }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [ChannelEvent] in
                defer { state.queue = [] }
                if state.queue.isEmpty { state.sending = false }
                return state.queue
            }
            guard !batch.isEmpty else { return }
            do {
                try await nodeActor.deliver(batch, toEdge: edgeName)
            } catch {
                // The edge's sessions resume on reconnect; nothing to retry here.
                logger.warning("cannot deliver events to a peer edge", metadata: ["cluster.peer": "\(edgeName)", "error": "\(error)"])
            }
        }
    }

    func membershipChanged(of user: UserID, in channel: ChannelID, isMember: Bool, seq: UInt64) {
        let nodeActor = self.nodeActor
        Task { try? await nodeActor.membershipChanged(of: user, in: channel, isMember: isMember, seq: seq) }
    }
}
