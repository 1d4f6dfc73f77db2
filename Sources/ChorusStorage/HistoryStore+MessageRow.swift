import ChorusModel
import Foundation

extension Message {
    /// The message's `json` column: its `Codable` form as `JSONEncoder` writes it with sorted keys
    /// (`nil` optionals left out), written by ``JSONWriter``. Reads decode it with `JSONDecoder`,
    /// and SQL reads `$.body` and `$.clientMessageID` from it. (Rows written before were
    /// `JSONEncoder`'s in no fixed key order; readers do not care.)
    ///
    /// Every message is written to the store once, at a checkpoint; `JSONEncoder` made that ~6%
    /// of a small-room workload's CPU (docs/benchmarks.md). `MessageRowTests` compares the bytes
    /// with `JSONEncoder`'s for random messages.
    ///
    /// Public for the benchmarks (`chorus-benchmarks store`).
    public var storedJSON: Data {
        var writer = JSONWriter(capacity: 320)
        writer.object { w in
            w.member("attachments", each: attachments) { w, attachment in
                w.object { w in
                    w.member("assetID", attachment.assetID.rawValue)
                    w.member("contentType", attachment.contentType)
                    w.member("filename", attachment.filename)
                    w.member("sizeBytes", attachment.sizeBytes)
                }
            }
            w.member("body", body)
            w.member("channelID", channelID.description)
            if let clientMessageID { w.member("clientMessageID", clientMessageID) }
            w.member("createdAt", object: { w in w.member("milliseconds", createdAt.milliseconds) })
            w.member("deleted", deleted)
            if let editedAt { w.member("editedAt", object: { w in w.member("milliseconds", editedAt.milliseconds) }) }
            w.member("id", id.description)
            w.member("inlineEmotes", each: inlineEmotes) { w, emote in
                w.object { w in
                    w.member("assetID", emote.assetID.rawValue)
                    w.member("endIndex", emote.endIndex)
                    w.member("shortcode", emote.shortcode)
                    w.member("startIndex", emote.startIndex)
                }
            }
            w.member("reactions", each: reactions) { w, reaction in
                w.object { w in
                    w.member("emoteAssetID", reaction.emoteAssetID.rawValue)
                    w.member("userIDs", each: reaction.userIDs) { w, user in w.string(user.rawValue) }
                }
            }
            w.member("senderID", senderID.rawValue)
            w.member("senderName", senderName)
            w.member("seq", seq)
        }
        return Data(writer.bytes)
    }
}
