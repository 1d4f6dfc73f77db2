import ChorusModel
import Testing

@Suite("Channel addresses (Stream cids)")
struct ChannelAddressTests {
    @Test("cids parse into type and id; bad characters, empty parts and long parts are refused")
    func parsing() {
        let address = ChannelAddress(cid: "messaging:general")
        #expect(address?.type == "messaging")
        #expect(address?.id == "general")
        #expect(address?.cid == "messaging:general")
        #expect(ChannelAddress(cid: "team:!members-0a1b")?.id == "!members-0a1b")
        for bad in ["messaging", ":x", "messaging:", "mess aging:x", "a:b:c", "t!:x", "a:é", "a:" + String(repeating: "x", count: 65)] {
            #expect(ChannelAddress(cid: bad) == nil, "\(bad)")
        }
        #expect(ChannelAddress(cid: "a:" + String(repeating: "x", count: 64)) != nil)
    }

    @Test("v1 types map to their decimal ids; other types hash to ids with the top bit set, stably")
    func engineIDs() throws {
        #expect(ChannelAddress(cid: "group:123")?.channelID == ChannelID(rawValue: 123))
        #expect(ChannelAddress(cid: "room:18446744073709551615")?.channelID == ChannelID(rawValue: .max))
        #expect(ChannelAddress(cid: "dm:abc")?.channelID == nil)
        let general = try #require(ChannelAddress(cid: "messaging:general")?.channelID)
        #expect(ChannelAddress.isHashed(general))
        #expect(!ChannelAddress.isHashed(ChannelID(rawValue: 385_861_663_686_918_144)))
        // Stored in logs: the hash must never change between releases.
        #expect(general == ChannelAddress(cid: "messaging:general")?.channelID)
        #expect(general.rawValue == 0x8000_0000_0000_0000 | ChannelAddressTests.expectedHashBits(of: "messaging:general"))
        #expect(ChannelAddress(cid: "messaging:generam")?.channelID != general)
        #expect(ChannelAddress(cid: "team:general")?.channelID != general)
        #expect(ChannelAddress(v1: ChannelInfo(id: ChannelID(rawValue: 9), kind: .room, name: "r", ownerID: nil, createdAt: .seconds(0))).cid == "room:9")
    }

    @Test("a member set gets one id whatever its order and repeats")
    func membersID() throws {
        let (alice, bob, carol) = (UserID("alice")!, UserID("bob")!, UserID("carol")!)
        let id = ChannelAddress.membersID([alice, bob])
        #expect(id == ChannelAddress.membersID([bob, alice, bob]))
        #expect(id != ChannelAddress.membersID([alice, bob, carol]))
        #expect(id.hasPrefix("!members-") && id.count == 25)
        #expect(ChannelAddress(type: "messaging", id: id) != nil)
    }

    /// FNV-1a then splitmix64's finaliser, written out again so a change to the shipped hash fails.
    static func expectedHashBits(of text: String) -> UInt64 {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        hash = (hash ^ (hash >> 30)) &* 13_787_848_793_156_543_929
        hash = (hash ^ (hash >> 27)) &* 10_723_151_780_598_845_931
        return (hash ^ (hash >> 31)) & ~(1 << 63)
    }
}
