@testable import ChorusGateway
import ChorusModel
import ChorusStorage
@testable import ChorusWire

/// The byte decoders: each must turn any input into a value or a thrown error.
enum DecoderTargets {
    /// What recovery does with a segment: cut frames (CRC, lengths), decode each journal entry.
    static func wal(_ bytes: [UInt8]) {
        var decoder = WALFrameDecoder()
        decoder.append(bytes)
        while let frame = try? decoder.next() {
            _ = try? JournalEntry(frame: frame)
        }
    }

    /// What a cluster connection does with its inbound bytes, arguments included.
    static func wire(_ bytes: [UInt8]) {
        var decoder = WireFrameDecoder(maxFrameBytes: 1 << 20)
        decoder.append(bytes)
        while let envelope = try? decoder.next() {
            guard case .call(let call) = envelope else { continue }
            for argument in call.arguments { decodeArgument(argument) }
        }
    }

    /// The binary coder alone, into the types that cross between nodes.
    static func binary(_ bytes: [UInt8]) {
        decodeArgument(bytes)
    }

    private static func decodeArgument(_ bytes: [UInt8]) {
        let decoder = BinaryDecoder()
        _ = try? decoder.decode(ChannelEventBatch.self, from: bytes)
        _ = try? decoder.decode(ChannelEvent.self, from: bytes)
        _ = try? decoder.decode(ChannelRecord.self, from: bytes)
        _ = try? decoder.decode(NewMessage.self, from: bytes)
        _ = try? decoder.decode([String].self, from: bytes)
        _ = try? decoder.decode(UInt64.self, from: bytes)
    }

    /// A v1 WebSocket client frame (text).
    static func webSocket(_ bytes: [UInt8]) {
        _ = try? ClientFrame.parse(String(decoding: bytes, as: UTF8.self))
    }
}
