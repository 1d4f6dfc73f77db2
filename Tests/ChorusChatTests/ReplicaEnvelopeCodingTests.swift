@testable import ChorusChat
import ChorusCluster
import ChorusModel
import ChorusTestSupport
import struct ChorusWire.BinaryDecoder
import struct ChorusWire.BinaryEncoder
import Testing

/// Replication messages cross the cluster in their record layout: every case of every message,
/// with and without a copy of the whole channel or user, comes back as it went, also through the
/// remote-call coder; damaged bytes are errors, never traps.
@Suite("Replication messages in their binary layout")
struct ReplicaEnvelopeCodingTests {
    static let alice = UserID("alice")!
    static let bob = UserID("bob")!
    static let at = Timestamp(milliseconds: 1_800_000_000_123)
    static let channelID = ChannelID(rawValue: 385_861_663_686_918_144)
    static let info = ChannelInfo(id: channelID, kind: .group, name: "Team ✨", ownerID: alice, createdAt: at)
    static let records: [ChannelRecord] = [
        .memberAdded(Member(userID: bob, role: .member, joinedAt: at), by: alice),
        .messageSent(NewMessage(id: MessageID(rawValue: 9), senderID: bob, senderName: "Bob", draft: MessageDraft(body: "hi \"there\"\n"), at: at)),
        .readCursorSet(user: alice, message: MessageID(rawValue: 9), at: at),
    ]
    static let log = LogPosition(logTerm: 3, seq: 41)
    static let lineage = [LogPosition(logTerm: 1, seq: 7), LogPosition(logTerm: 2, seq: .max)]

    static func messages<Record>(_ records: [Record]) -> [KeyReplica<Record, ReplicaBase>.Message] {
        [
            .probe(term: 0),
            .probe(term: .max),
            .state(term: 4, log: log),
            .append(term: 4, expect: log, records: records, commit: 40),
            .append(term: 4, expect: LogPosition(logTerm: 0, seq: 0), records: [], commit: 0, lineage: lineage),
            .snapshot(term: 5, base: ReplicaBase(seq: 12), baseSeq: 12, records: records, commit: 13, lineage: lineage),
            .snapshot(term: 5, base: nil, baseSeq: 0, records: [], commit: 0),
            .accepted(term: 4, upTo: 44),
            .refused(term: 6),
            .fetch(term: 7, after: log),
            .fetched(term: 7, log: log, base: ReplicaBase(seq: 2), baseSeq: 2, records: records, lineage: lineage),
            .fetched(term: 7, log: log, base: nil, baseSeq: 41, records: [], lineage: []),
        ]
    }

    static var channelCopy: ChannelCopy {
        var state = ChannelState(info: info, members: [Member(userID: alice, role: .owner, joinedAt: at)])
        _ = state.apply(records[0])
        let message = Message(
            id: MessageID(rawValue: 9), channelID: channelID, seq: 3, senderID: bob, senderName: "Bob", body: "hi",
            attachments: [], inlineEmotes: [], createdAt: at, editedAt: nil, deleted: false, reactions: [], clientMessageID: nil)
        return ChannelCopy(metadata: state, messages: [message])
    }

    static var userCopy: UserState {
        var state = UserState(id: alice)
        state.apply(.upserted(displayName: "Alice", at: at))
        state.apply(.membershipChanged(channelID, isMember: true, seq: 3))
        return state
    }

    static let userRecords: [UserRecord] = [.upserted(displayName: "Alice", at: at), .blockAdded(bob, at: at)]

    static var envelopes: [ReplicaEnvelope] {
        messages(records).map { ReplicaEnvelope.channel(channelID, $0, copy: nil) }
            + messages(userRecords).map { ReplicaEnvelope.user(alice, $0, copy: nil) }
            + [
                .channel(channelID, .snapshot(term: 5, base: ReplicaBase(seq: 3), baseSeq: 3, records: records, commit: 6), copy: channelCopy),
                .user(alice, .fetched(term: 2, log: log, base: ReplicaBase(seq: 2), baseSeq: 2, records: userRecords, lineage: []), copy: userCopy),
            ]
    }

    @Test("every message of channels and users, with and without copies, round-trips alone and in one batch")
    func roundTrips() throws {
        for envelope in Self.envelopes {
            let batch = try ReplicaEnvelopes([envelope])
            #expect(try ReplicaEnvelopes(binaryRepresentation: batch.binaryRepresentation).envelopes == [envelope])
        }
        let batch = try ReplicaEnvelopes(Self.envelopes)
        #expect(try ReplicaEnvelopes(binaryRepresentation: batch.binaryRepresentation).envelopes == Self.envelopes)
        #expect(try ReplicaEnvelopes(binaryRepresentation: ReplicaEnvelopes([]).binaryRepresentation).envelopes.isEmpty)
    }

    @Test("a remote call carries the batch as its own layout, not through Codable")
    func throughTheRemoteCallCoder() throws {
        let batch = try ReplicaEnvelopes(Self.envelopes)
        let carried = try BinaryEncoder().encode(batch)
        #expect(carried == batch.binaryRepresentation)
        #expect(try BinaryDecoder().decode(ReplicaEnvelopes.self, from: carried).envelopes == Self.envelopes)
    }

    @Test("a small append costs tens of bytes")
    func compact() throws {
        let append = ReplicaEnvelope.channel(Self.channelID, .append(term: 4, expect: Self.log, records: [Self.records[2]], commit: 40), copy: nil)
        #expect(try ReplicaEnvelopes([append]).binaryRepresentation.count < 40)
        #expect(try ReplicaEnvelopes([.channel(Self.channelID, .accepted(term: 4, upTo: 44), copy: nil)]).binaryRepresentation.count < 16)
    }

    @Test("every truncation, a stray byte and unknown tags are errors, never traps")
    func damagedBytes() throws {
        let bytes = try ReplicaEnvelopes(Self.envelopes).binaryRepresentation
        for length in 0..<bytes.count {
            #expect(throws: (any Error).self) { _ = try ReplicaEnvelopes(binaryRepresentation: Array(bytes.prefix(length))) }
        }
        #expect(throws: (any Error).self) { _ = try ReplicaEnvelopes(binaryRepresentation: bytes + [0]) }
        // One envelope with an unknown kind, then one with an unknown message tag.
        #expect(throws: (any Error).self) { _ = try ReplicaEnvelopes(binaryRepresentation: [1, 2]) }
        let probe = try ReplicaEnvelopes([.channel(Self.channelID, .probe(term: 1), copy: nil)]).binaryRepresentation
        // It ends with the message's tag (0, probe), its term (1) and no copy (0).
        let tagAt = probe.count - 3
        #expect(Array(probe.suffix(3)) == [0, 1, 0])
        var unknown = probe
        unknown[tagAt] = 8
        #expect(throws: (any Error).self) { _ = try ReplicaEnvelopes(binaryRepresentation: unknown) }
        var generator = SeededRandom(seed: 16)
        for _ in 0..<2_000 {
            var damaged = bytes
            damaged[Int.random(in: 0..<damaged.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            _ = try? ReplicaEnvelopes(binaryRepresentation: damaged)
        }
    }
}
