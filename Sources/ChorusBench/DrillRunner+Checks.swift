/// The end of a round: every node's view of every room's history, checked against the acknowledged
/// sends, and every subscriber's stream checked against the history.
extension Drill.Session {
    /// The checks over some set of messages, summed over rooms and subscribers.
    struct CheckOutcome: Sendable {
        var history = Drill.HistoryCheck()
        var stream = Drill.StreamCheck()
        /// Node views that could not be read, and rooms whose nodes listed different messages.
        var unreadable = 0
        var divergent = 0
    }

    /// Reads all histories, waits for the subscribers to catch up with them, and checks this round's
    /// messages and everything sent so far. The reference history of a room (for the streams) is the
    /// first node's view that could be read.
    func check(round: Int) async -> (round: CheckOutcome, cumulative: CheckOutcome) {
        let histories = await readHistories()
        let reference = histories.map { views in views.compactMap { $0 }.first ?? [] }
        await waitForSubscribers(reference: reference)
        func isThisRound(_ entry: Drill.HistoryEntry) -> Bool {
            entry.clientID.flatMap { Drill.round(ofClientID: $0) } == round
        }
        var thisRound = CheckOutcome()
        var cumulative = CheckOutcome()
        for room in rooms {
            let views = histories[room.index]
            let readable = views.compactMap { $0 }
            let unreadable = views.count - readable.count
            let divergent = Set(readable.map { $0.map(\.messageID) }).count > 1 ? 1 : 0
            for index in [0, 1] {
                // 0: this round's messages only; 1: everything.
                let acks = log.acks(room: room.index).filter { index == 1 || $0.round == round }
                let checks = readable.map { view in
                    Drill.HistoryCheck.check(acks: acks, history: index == 1 ? view : view.filter(isThisRound))
                }
                let worst = Drill.HistoryCheck.worst(checks) ?? Drill.HistoryCheck(acknowledged: acks.count)
                if index == 0 {
                    thisRound.history = thisRound.history + worst
                } else {
                    cumulative.history = cumulative.history + worst
                }
            }
            thisRound.unreadable += unreadable
            cumulative.unreadable += unreadable
            thisRound.divergent += divergent
            cumulative.divergent += divergent
        }
        for (index, subscriber) in subscribers.enumerated() {
            let state = subscriber.snapshot
            let history = reference[subscriber.room]
            let expected = history.map(\.seq)
            let check = Drill.StreamCheck.check(delivered: state.delivered, reloaded: state.reloaded, expected: expected)
            cumulative.stream = cumulative.stream + check
            if check.gaps > 0 {
                progress(
                    Drill.StreamCheck.gapReport(
                        delivered: state.delivered, reloaded: state.reloaded, expected: expected,
                        subscriber: "subscriber \(index) of room \(subscriber.room) (channel \(rooms[subscriber.room].id), first on \(names[subscriber.home]))"))
            }
            thisRound.stream = thisRound.stream
                + Drill.StreamCheck.check(
                    delivered: state.delivered, reloaded: state.reloaded, expected: history.filter(isThisRound).map(\.seq), countUnexpected: false)
        }
        return (thisRound, cumulative)
    }

    /// Every room's history from every node (`[room][node]`); nil where a view could not be read after
    /// five tries. Today every node forwards the read to the room's owner; with replication these are
    /// the replicas' own views.
    private func readHistories() async -> [[[Drill.HistoryEntry]?]] {
        let (rooms, connections, nodeCount) = (self.rooms, self.connections, names.count)
        let views =
            (try? await concurrently(rooms.count * nodeCount, limit: 16) { n -> [Drill.HistoryEntry]? in
                let room = rooms[n / nodeCount]
                for attempt in 0..<5 {
                    if let entries = try? await Drill.readMessages(connections: connections, node: n % nodeCount, channelID: room.id, token: room.senderToken) {
                        return entries
                    }
                    if attempt < 4 { try? await Task.sleep(for: .milliseconds(500)) }
                }
                return nil
            }) ?? []
        return rooms.indices.map { room in
            (0..<nodeCount).map { node in views.count == rooms.count * nodeCount ? views[room * nodeCount + node] : nil }
        }
    }

    /// Waits (up to the drain timeout) until every subscriber has every message of its room's history.
    private func waitForSubscribers(reference: [[Drill.HistoryEntry]]) async {
        let expected = reference.map { Set($0.map(\.seq)) }
        let deadline = monotonicNanos() + Self.nanos(configuration.drainTimeout)
        while monotonicNanos() < deadline {
            if subscribers.allSatisfy({ $0.hasReceived(all: expected[$0.room]) }) { return }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}
