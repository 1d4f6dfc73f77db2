import ChorusCluster
@testable import ChorusChat
import ChorusModel
import ChorusStorage
import Testing

/// A replica's batches in the write-ahead log: their frame, and what recovery rebuilds from them.
@Suite("Replica batches in the WAL")
struct ReplicaLogTests {
    let channel = ChannelID(rawValue: 42)
    var info: ChannelInfo { ChannelInfo(id: channel, kind: .group, name: "Team", ownerID: alice, createdAt: Timestamp(milliseconds: 1_000)) }
    var created: ChannelRecord { .created(info: info, members: [Member(userID: alice, role: .owner, joinedAt: Timestamp(milliseconds: 1_000))]) }

    func sent(_ id: UInt64, _ body: String) -> ChannelRecord {
        .messageSent(NewMessage(id: MessageID(rawValue: id), senderID: alice, senderName: "Alice", draft: MessageDraft(body: body), at: Timestamp(milliseconds: Int64(id))))
    }

    @Test("a batch survives its frame: terms, first seq and records")
    func frameRoundTrip() throws {
        let entry = JournalEntry.replica(channel, ReplicaBatch(promisedTerm: 7 << 32 | 2, logTerm: 7 << 32 | 1, from: 1, records: [created, sent(5, "hi")]))
        let frame = entry.frame()
        #expect(frame.kind == .replica)
        #expect(try JournalEntry(frame: frame) == entry)
        var bytes = frame.payload
        bytes.removeLast()
        #expect(throws: WALError.self) { try JournalEntry(frame: WALFrame(kind: .replica, payload: bytes)) }
    }

    @Test("recovery rebuilds a channel its primary created: the promise, then its own created record, then its records")
    func replayPrimaryCreation() throws {
        // As a replicated channel's primary logs a new channel: its terms first (a promise, then
        // an empty batch of its term), then the `created` record and the rest as channel records.
        var state = NodeState()
        try state.replay(lsn: 1, entry: .replica(channel, ReplicaBatch(promisedTerm: 4, logTerm: 0, from: 1, records: [])))
        try state.replay(lsn: 2, entry: .replica(channel, ReplicaBatch(promisedTerm: 4, logTerm: 4, from: 1, records: [])))
        try state.replay(lsn: 3, entry: .channel(channel, created))
        try state.replay(lsn: 4, entry: .channel(channel, sent(5, "a")))
        let primary = try #require(state.channels[channel])
        #expect(primary.state.info == info, "the created record was applied, not skipped")
        #expect(primary.state.lastSeq == 2 && primary.appliedLSN == 4)
        #expect(primary.state.members[alice]?.member.role == .owner)
        #expect(primary.state.replicaTerms == ReplicaTerms(promisedTerm: 4, logTerm: 4))
        #expect(primary.state.recent.map(\.seq) == [2])
        // A repeated created record (replay over a state that has it) changes nothing.
        try state.replay(lsn: 3, entry: .channel(channel, created))
        #expect(state.channels[channel]?.state.lastSeq == 2)
    }

    @Test("recovery rebuilds a replica from its batches: a promise first (a placeholder), then the log from created, with the last terms")
    func replay() throws {
        var state = NodeState()
        try state.replay(lsn: 1, entry: .replica(channel, ReplicaBatch(promisedTerm: 4, logTerm: 0, from: 1, records: [])))
        #expect(state.channels[channel]?.state.isPlaceholder == true)
        #expect(state.channels[channel]?.state.replicaTerms == ReplicaTerms(promisedTerm: 4, logTerm: 0))
        try state.replay(lsn: 2, entry: .replica(channel, ReplicaBatch(promisedTerm: 4, logTerm: 4, from: 1, records: [created, sent(5, "a")])))
        try state.replay(lsn: 3, entry: .replica(channel, ReplicaBatch(promisedTerm: 5, logTerm: 5, from: 3, records: [sent(6, "b")])))
        // A primary's own records extend the log without changing its terms.
        try state.replay(lsn: 4, entry: .channel(channel, sent(7, "c")))
        let replica = try #require(state.channels[channel])
        #expect(replica.state.info == info && replica.state.lastSeq == 4 && replica.appliedLSN == 4)
        #expect(replica.state.recent.map(\.body) == ["a", "b", "c"])
        // The switch to term 5 claims where the log stood in term 4 (its lineage).
        #expect(replica.state.replicaTerms == ReplicaTerms(promisedTerm: 5, logTerm: 5, lineage: [LogPosition(logTerm: 4, seq: 2)]))
        // A batch that does not extend the log is corruption, not a silent gap.
        #expect(throws: WALError.self) {
            try state.replay(lsn: 5, entry: .replica(channel, ReplicaBatch(promisedTerm: 5, logTerm: 5, from: 9, records: [sent(8, "d")])))
        }
    }
}
