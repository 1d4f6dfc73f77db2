import ChorusModel
import Synchronization

/// Which channel holds a message, by the id the Stream-compatible API gives it (the sender's own
/// id, or the engine id in decimal), for the messages that are not in the store yet.
///
/// Channel actors note each message they apply (as primary or replica); a checkpoint forgets
/// the ones it stored, since the store answers for those (``HistoryStore/locate(_:)``). So the
/// table holds one node's messages since its last checkpoint, and recovery notes the ones it
/// replays from the log.
final class MessageLocator: Sendable {
    private let table = Mutex<[String: (ChannelID, MessageID)]>([:])

    /// The keys a message is found by.
    static func keys(of message: Message) -> [String] {
        var keys = [message.id.description]
        if let clientID = message.clientMessageID { keys.append(clientID) }
        return keys
    }

    func note(_ message: Message) {
        table.withLock { table in
            for key in Self.keys(of: message) { table[key] = (message.channelID, message.id) }
        }
    }

    func forget(_ messages: [Message]) {
        table.withLock { table in
            for message in messages {
                for key in Self.keys(of: message) where table[key]?.1 == message.id { table[key] = nil }
            }
        }
    }

    func locate(_ key: String) -> (ChannelID, MessageID)? {
        table.withLock { $0[key] }
    }

    var count: Int { table.withLock { $0.count } }
}
