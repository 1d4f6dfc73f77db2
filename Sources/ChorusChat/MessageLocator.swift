import ChorusModel
import Synchronization

/// Which channel holds a message, by the id the Stream-compatible API gives it (the sender's own
/// id, or the engine id in decimal), for the messages that are not in the store yet.
///
/// Channel actors note each message they apply (as primary or replica); a checkpoint forgets
/// the ones it stored, since the store answers for those (``HistoryStore/locate(_:)``). So the
/// tables hold one node's messages since its last checkpoint, and recovery notes the ones it
/// replays from the log. An engine id is looked up before a client id, here and in the store, so
/// a client id that spells another message's engine id cannot hide that message.
final class MessageLocator: Sendable {
    private struct Tables {
        var byEngineID: [MessageID: ChannelID] = [:]
        var byClientID: [String: (ChannelID, MessageID)] = [:]
    }
    private let tables = Mutex(Tables())

    func note(_ message: Message) {
        tables.withLock { tables in
            tables.byEngineID[message.id] = message.channelID
            if let clientID = message.clientMessageID { tables.byClientID[clientID] = (message.channelID, message.id) }
        }
    }

    func forget(_ messages: [Message]) {
        tables.withLock { tables in
            for message in messages {
                tables.byEngineID[message.id] = nil
                if let clientID = message.clientMessageID, tables.byClientID[clientID]?.1 == message.id { tables.byClientID[clientID] = nil }
            }
        }
    }

    func locate(_ key: String) -> (ChannelID, MessageID)? {
        tables.withLock { tables in
            if let id = MessageID(key), let channel = tables.byEngineID[id] { return (channel, id) }
            return tables.byClientID[key]
        }
    }

    var count: Int { tables.withLock { $0.byEngineID.count } }
}
