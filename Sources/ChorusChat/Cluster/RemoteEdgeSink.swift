import ChorusModel
import Logging
import Synchronization

/// Hands a channel's events and membership changes to an edge on another node, in order.
///
/// `deliver` only queues (it runs inside the channel actor's turn). One sending task per peer edge
/// takes everything queued and sends it, a run of events as one call, and waits for each call
/// before the next: events and membership changes reach the edge in the order they were made,
/// and under load each call carries many events.
///
/// A call that fails (the peer is briefly unreachable, cut off, or too busy to answer within the
/// call timeout) is sent again, with what queued behind it, after a pause that doubles from 20 ms
/// to 1 s: the edge's sockets stay connected through such a stall, so a dropped event would be a
/// hole in their streams. A late answer can mean the edge got the events already; it drops the
/// repeats by seq. The backlog is bounded (``maxBacklog`` items, the oldest dropped past it, as
/// when a peer stays away): sessions on an edge that was gone that long resume from their
/// position when their clients reconnect.
final class RemoteEdgeSink: EdgeEventSink {
    let edgeName: String
    private let nodeActor: ChatNodeActor
    private let logger: Logger
    /// The most items kept for an edge that does not answer.
    static let maxBacklog = 10_000

    private enum Item: Sendable {
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
        var pause = Duration.milliseconds(20)
        var failing = false
        while true {
            let batch = state.withLock { state -> [Item] in
                defer { state.queue = [] }
                if state.queue.isEmpty { state.sending = false }
                return state.queue
            }
            guard !batch.isEmpty else { return }
            do throws(Undelivered) {
                try await send(batch)
                if failing { logger.info("delivering events to a peer edge again", metadata: ["cluster.peer": "\(edgeName)"]) }
                failing = false
                pause = .milliseconds(20)
            } catch {
                let failure = error
                let dropped = state.withLock { state -> Int in
                    state.queue = failure.items + state.queue
                    let excess = max(0, state.queue.count - Self.maxBacklog)
                    state.queue.removeFirst(excess)
                    return excess
                }
                if !failing || dropped > 0 {
                    logger.warning(
                        "cannot deliver events to a peer edge; retrying",
                        metadata: ["cluster.peer": "\(edgeName)", "error": "\(failure.error)", "dropped": "\(dropped)"])
                }
                failing = true
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(1))
            }
        }
    }

    /// What a failed `send` could not deliver: the item whose call failed and every one after it.
    private struct Undelivered: Error {
        var items: [Item]
        var error: any Error
    }

    /// Sends `batch` in order: each run of events as one call, each membership change as its own.
    private func send(_ batch: [Item]) async throws(Undelivered) {
        var runStart = 0
        var events: [ChannelEvent] = []
        /// Sends the run of events gathered so far; on failure, everything from the run on is undelivered.
        func sendRun() async throws(Undelivered) {
            guard !events.isEmpty else { return }
            do { try await nodeActor.deliver(ChannelEventBatch(events), toEdge: edgeName) } catch { throw Undelivered(items: Array(batch[runStart...]), error: error) }
            events = []
        }
        for (index, item) in batch.enumerated() {
            switch item {
            case .event(let event):
                if events.isEmpty { runStart = index }
                events.append(event)
            case .membership(let user, let channel, let isMember, let seq):
                try await sendRun()
                do {
                    try await nodeActor.membershipChanged(of: user, in: channel, isMember: isMember, seq: seq)
                } catch {
                    throw Undelivered(items: Array(batch[index...]), error: error)
                }
            }
        }
        try await sendRun()
    }
}
