import Benchmark
import ChorusCluster
import ChorusGateway
import ChorusModel
import ChorusStorage
import ChorusWire
import Foundation
import NIOCore

// The hot paths of a REST request and of a fan-out, one at a time (ordo-one/benchmark):
//   cd Benchmarks && swift package --disable-sandbox benchmark --target ChorusMicro
// Results and how to read them: docs/benchmarks.md.

/// The message every benchmark uses: 64 characters to one channel, as a client sends it.
let sampleMessage = Message(
    id: MessageID(rawValue: 1_843_000_000_000_042), channelID: ChannelID(rawValue: 1_843_000_000_000_001), seq: 7,
    senderID: UserID("alice")!, senderName: "Alice", body: String(repeating: "x", count: 64), attachments: [], inlineEmotes: [],
    createdAt: .seconds(1_800_000_000))
let sampleEvent = ChannelEvent(channelID: sampleMessage.channelID, seq: 7, createdAt: sampleMessage.createdAt, payload: .message(sampleMessage))

/// A channel's info and members: a `Codable` value with no layout of its own.
struct SampleChannel: Codable {
    var info: ChannelInfo
    var members: [Member]
}
let sampleChannel = SampleChannel(
    info: ChannelInfo(id: sampleMessage.channelID, kind: .room, name: "Lobby", ownerID: sampleMessage.senderID, createdAt: sampleMessage.createdAt),
    members: (0..<10).map { Member(userID: UserID("user\($0)")!, role: .member, joinedAt: sampleMessage.createdAt) })

/// A 3-node ring and channel keys to look up, built once outside the measurements.
let sampleRing = HashRing(nodes: ["chorus-1", "chorus-2", "chorus-3"])
let sampleKeys = (0..<1024).map { "channel:\(1_843_000_000_000_000 + $0)" }

/// A client's text frame of 100 bytes as it arrives: masked (RFC 6455 requires it of clients).
let sampleClientFrame: ByteBuffer = {
    let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
    let payload = Array(#"{"type":"typing.start","channel_id":"1843000000000001","padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#.utf8.prefix(100))
    var frame = ByteBuffer(bytes: [0x81, 0x80 | UInt8(payload.count)] + key)
    frame.writeBytes(payload.enumerated().map { $0.element ^ key[$0.offset & 3] })
    return frame
}()

let benchmarks: @Sendable () -> Void = {
    // Wall clock of one operation (each sample runs many, see scalingFactor), throughput and
    // allocations; the operations are single-threaded, so wall clock is their CPU time on a quiet core.
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 1_000,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000)

    // REST requests through the router, no socket (RESTRequests.swift): what Chorus, Hummingbird's
    // router and the engine cost of a request's server CPU.
    let rest = try! RESTBench()
    Benchmark("REST GET /healthz (router, no socket)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try await rest.respond(.get, "/healthz")) }
    }
    Benchmark("REST POST message (router, no socket, memory journal)", configuration: .init(scalingFactor: .kilo, maxIterations: 100)) { benchmark in
        let group = try await rest.aliceGroup()
        let path = "/v1/channels/\(group)/messages"
        let body = #"{"body":"a durable message of about sixty-four bytes, as chat has them"}"#
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try await rest.respond(.post, path, body: body)) }
        benchmark.stopMeasurement()
    }
    Benchmark("REST GET /v1/channels (router, no socket, one group)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        _ = try await rest.aliceGroup()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try await rest.respond(.get, "/v1/channels")) }
        benchmark.stopMeasurement()
    }

    // What an edge does once per event, however many sockets follow the channel.
    Benchmark("event frame encoding (message, 64 B)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(RealtimeFrames.event(sampleEvent)) }
    }

    // What an edge does with each frame a client sends (typing, a read, a resume): check it,
    // unmask it into a message of its own.
    Benchmark("client frame read (masked text, 100 B)") { benchmark in
        for _ in benchmark.scaledIterations {
            var reader = WebSocketWire.Reader(maxMessageBytes: 65_536)
            reader.append(sampleClientFrame)
            blackHole(try reader.next())
        }
    }

    // What a channel actor's commit costs before the fsync: framing, CRC32C, the write to the segment.
    Benchmark("WAL append (message, 64 B, fsync none)", configuration: .init(maxIterations: 200_000)) { benchmark in
        let directory = NSTemporaryDirectory() + "chorus-micro-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try WriteAheadLog.open(.init(directory: directory, fsync: .none))
        defer { log.close() }
        let entry = JournalEntry.channel(
            sampleMessage.channelID,
            .messageSent(NewMessage(
                id: sampleMessage.id, senderID: sampleMessage.senderID, senderName: "Alice",
                draft: MessageDraft(body: sampleMessage.body), at: sampleMessage.createdAt)))
        let frame = entry.frame()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try log.append(frame)) }
        benchmark.stopMeasurement()
    }

    // Placement: which node owns a channel, on a 3-node ring of 1,024 virtual nodes each.
    Benchmark("ring lookup (3 nodes × 1024 vnodes)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for i in benchmark.scaledIterations { blackHole(sampleRing.owner(of: sampleKeys[i & 1023])) }
    }

    // A remote call's argument of a type without its own layout (a channel's info and members,
    // as reads and hand-offs carry them): through the Codable binary coder both ways.
    Benchmark("binary coder encode + decode (Codable channel info, 10 members)") { benchmark in
        let encoder = BinaryEncoder()
        let decoder = BinaryDecoder()
        for _ in benchmark.scaledIterations {
            blackHole(try decoder.decode(SampleChannel.self, from: encoder.encode(sampleChannel)))
        }
    }

    // A remote delivery's wire cost: the event argument encoded, framed, unframed and decoded.
    Benchmark("remote call encode + decode (event argument)") { benchmark in
        let encoder = BinaryEncoder()
        let decoder = BinaryDecoder()
        for i in benchmark.scaledIterations {
            let call = Wire.Call(
                id: UInt64(i), recipientKind: "node", recipientKey: "chorus-2", target: "deliver(_:toEdge:)",
                arguments: [try encoder.encode(ChannelEventBatch([sampleEvent]))], timeoutMilliseconds: 5_000, epoch: 1)
            var frames = WireFrameDecoder()
            frames.append(Wire.Envelope.call(call).frame())
            guard case .call(let received)? = try frames.next() else { fatalError("the frame did not decode to a call") }
            blackHole(try decoder.decode(ChannelEventBatch.self, from: received.arguments[0]))
        }
    }
}
