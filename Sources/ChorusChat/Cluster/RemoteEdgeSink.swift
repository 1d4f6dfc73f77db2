import ChorusModel
import Logging
import Synchronization

/// Hands a channel's events and membership changes to an edge on another node, in order.
///
/// `deliver` only queues (it runs inside the channel actor's turn). One sending task per peer edge
/// takes everything queued and sends it, a run of events as one call, and waits for each call
/// before the next: events and membership changes reach the edge in the order they were made,
/// and under load each call carries many events.
final class RemoteEdgeSink: EdgeEventSink {
    let edgeName: String
    private let nodeActor: ChatNodeActor
    private let logger: Logger

    private enum Item {
        case event(ChannelEvent)
        case membership(user: UserID, channel: ChannelID, isMember: Bool, seq: UInt64)
    }

    private struct State {
        var queue: [Item] = []
        var sending = false
    }
    private let state = Mutex(State())

    init(edgeName: String, nodeActor: ChatNodeActor, logger: Logger) {
        self.edgeName = edgeName
        self.nodeActor = nodeActor
        self.logger = logger
    }

    func deliver(_ event: ChannelEvent) {
        enqueue(.event(event))
    }

    func membershipChanged(of user: UserID, in channel: ChannelID, isMember: Bool, seq: UInt64) {
        enqueue(.membership(user: user, channel: channel, isMember: isMember, seq: seq))
    }

    private func enqueue(_ item: Item) {
        let start = state.withLock { state -> Bool in
            state.queue.append(item)
            guard !state.sending else { return false }
            state.sending = true
            return true
        }
        if start { Task { await self.drain() } }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Item] in
                defer { state.queue = [] }
                if state.queue.isEmpty { state.sending = false }
                return state.queue
            }
            guard !batch.isEmpty else { return }
            var events: [ChannelEvent] = []
            for item in batch {
                switch item {
                case .event(let event):
                    events.append(event)
                case .membership(let user, let channel, let isMember, let seq):
                    await send(events)
                    events = []
                    do {
                        try await nodeActor.membershipChanged(of: user, in: channel, isMember: isMember, seq: seq)
                    } catch {
                        logger.warning("cannot tell a peer edge of a membership change", metadata: ["cluster.peer": "\(edgeName)", "error": "\(error)"])
                    }
                }
            }
            await send(events)
        }
    }

    private func send(_ events: [ChannelEvent]) async {
        guard !events.isEmpty else { return }
        do {
            try await nodeActor.deliver(events, toEdge: edgeName)
        } catch {
            // The edge's sessions resume on reconnect; nothing to retry here.
            logger.warning("cannot deliver events to a peer edge", metadata: ["cluster.peer": "\(edgeName)", "error": "\(error)"])
        }
    }
}
