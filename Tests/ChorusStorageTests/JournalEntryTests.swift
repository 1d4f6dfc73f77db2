import ChorusModel
import ChorusStorage
import Foundation
import Testing

@Suite("Journal entries on disk")
struct JournalEntryTests {
    static let alice = UserID("alice")!
    static let at = Timestamp(milliseconds: 1_800_000_000_000)
    static let entries: [JournalEntry] = [
        .channel(
            ChannelID(rawValue: 42),
            .created(info: ChannelInfo(id: ChannelID(rawValue: 42), kind: .room, name: "Lobby", ownerID: alice, createdAt: at), members: [
                Member(userID: alice, role: .owner, joinedAt: at)
            ])),
        .channel(
            ChannelID(rawValue: 42),
            .messageSent(NewMessage(id: MessageID(rawValue: 9), senderID: alice, senderName: "Alice", draft: MessageDraft(body: String(repeating: "x", count: 64)), at: at))),
        .user(alice, .upserted(displayName: "Alice", at: at)),
        .user(alice, .membershipChanged(ChannelID(rawValue: 42), isMember: true, seq: 1)),
    ]

    @Test("frames start with the format version and decode to the same entry; old JSON frames still decode")
    func formats() throws {
        for entry in Self.entries {
            let frame = entry.frame()
            #expect(frame.payload.first == RecordFormat.version)
            #expect(try JournalEntry(frame: frame) == entry)
            let legacy = try entry.legacyJSONFrame()
            #expect(legacy.payload.first == UInt8(ascii: "{"))
            #expect(try JournalEntry(frame: legacy) == entry)
            #expect(frame.payload.count * 2 < legacy.payload.count, "binary \(frame.payload.count) B vs JSON \(legacy.payload.count) B")
        }
    }

    @Test("an unknown version, stray bytes or an undecodable record is corruption, with a clear message")
    func refusals() throws {
        var future = Self.entries[0].frame()
        future.payload[0] = 2
        #expect(throws: WALError.self) { try JournalEntry(frame: future) }
        do {
            _ = try JournalEntry(frame: future)
        } catch let error as WALError {
            #expect(error.code == .corrupt)
            #expect(error.message.contains("record format version 2 is unknown"))
        }
        var stray = Self.entries[2].frame()
        stray.payload.append(0)
        #expect(throws: WALError.self) { try JournalEntry(frame: stray) }
        var cut = Self.entries[1].frame()
        cut.payload.removeLast(3)
        #expect(throws: WALError.self) { try JournalEntry(frame: cut) }
        #expect(throws: WALError.self) { try JournalEntry(frame: WALFrame(kind: .user, payload: [])) }
    }

    @Test("a log written in JSON and continued in binary recovers every record in order")
    func mixedLog() async throws {
        let directory = NSTemporaryDirectory() + "chorus-journal-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var log = try WriteAheadLog.open(.init(directory: directory, fsync: .none))
        for entry in Self.entries { _ = try log.append(try entry.legacyJSONFrame()) }
        log.close()
        log = try WriteAheadLog.open(.init(directory: directory, fsync: .none)) { _, _ in }
        var last: UInt64 = 0
        for entry in Self.entries { last = try log.append(entry) }
        try await log.waitDurable(last)
        log.close()
        var replayed: [JournalEntry] = []
        let report = try WALSegments.scan(directory) { _, frame in replayed.append(try JournalEntry(frame: frame)) }
        #expect(report.records == 2 * Self.entries.count)
        #expect(replayed == Self.entries + Self.entries)
    }
}
