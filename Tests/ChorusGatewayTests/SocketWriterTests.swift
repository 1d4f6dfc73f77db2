import ChorusModel
import ChorusTestSupport
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import ChorusGateway

/// A session's writer on a testing channel, whose event loop's virtual time is the writer's clock.
@Suite("SocketWriter: one write per interval")
struct SocketWriterTests {
    /// A session following one channel, its socket on a testing channel, and its writer.
    struct Harness {
        let channel: NIOAsyncTestingChannel
        let session: RealtimeSession
        let writer: SocketWriter
        let room = ChannelID(rawValue: 42)
        let counters = RealtimeHub.Counters()

        init(interval: TimeAmount, loop: NIOAsyncTestingEventLoop = NIOAsyncTestingEventLoop()) async throws {
            channel = NIOAsyncTestingChannel(loop: loop)
            let socket = ServerWebSocket(channel: channel, configuration: .init(maxMessageBytes: 1024, closeTimeout: .seconds(5)))
            try await channel.eventLoop.submit { [channel] in try channel.pipeline.syncOperations.addHandler(socket.makeHandler()) }.get()
            try await channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1))
            session = RealtimeSession(
                id: "c1", user: UserID("alice")!, bufferLimit: 1 << 20, grace: .seconds(10), clock: ManualTimeSource(),
                counters: counters)
            session.follow(room, .live)
            writer = SocketWriter(socket: socket, session: session, interval: interval, counters: counters)
            try await writer.install()
            session.attach(writer)
        }

        /// Queues event `seq` on the session and wakes its writer, as the hub does for a fan-out.
        func event(_ seq: UInt64) {
            if let writer = queue(seq) { SocketWriter.wake([writer]) }
        }

        /// Queues event `seq` on the session; returns the writer to wake.
        func queue(_ seq: UInt64) -> SocketWriter? {
            session.receive(room, SessionState.Frame(seq: seq, bytes: ByteBuffer(string: "e\(seq)")), now: Timestamp(milliseconds: 0))
        }

        /// Each write on the socket since the last call, as the texts of its frames.
        func writes() async throws -> [[String]] {
            await channel.testingEventLoop.run()
            var writes: [[String]] = []
            while let bytes = try await channel.readOutbound(as: ByteBuffer.self) {
                writes.append(try NIOFrames.decode(bytes).map { String(buffer: $0.data) })
            }
            return writes
        }

        func advance(by amount: TimeAmount) async { await channel.testingEventLoop.advanceTime(by: amount) }
    }

    @Test("events within the interval after a write wait for its end and share one write; a socket quiet for the interval is written at once")
    func coalesces() async throws {
        let socket = try await Harness(interval: .milliseconds(5))
        socket.event(1)
        #expect(try await socket.writes() == [["e1"]])
        socket.event(2)
        await socket.advance(by: .milliseconds(2))
        socket.event(3)
        #expect(try await socket.writes() == [])
        await socket.advance(by: .milliseconds(2))
        #expect(try await socket.writes() == [])
        await socket.advance(by: .milliseconds(1))
        #expect(try await socket.writes() == [["e2", "e3"]])
        // The write of e2 and e3 opened a new interval: e4 waits for its end, 5 ms after that write.
        socket.event(4)
        await socket.advance(by: .milliseconds(4))
        #expect(try await socket.writes() == [])
        await socket.advance(by: .milliseconds(1))
        #expect(try await socket.writes() == [["e4"]])
        // Quiet for longer than the interval: the next event goes out at once.
        await socket.advance(by: .milliseconds(20))
        socket.event(5)
        #expect(try await socket.writes() == [["e5"]])
        #expect(socket.counters.socketWrites.load(ordering: .relaxed) == 4)
    }

    @Test("a control frame (a heartbeat) waits for the interval like an event, and keeps its place in the queue")
    func controlFrames() async throws {
        let socket = try await Harness(interval: .milliseconds(5))
        socket.event(1)
        #expect(try await socket.writes() == [["e1"]])
        socket.event(2)
        socket.session.send(ByteBuffer(string: "health"))
        socket.event(3)
        #expect(try await socket.writes() == [])
        await socket.advance(by: .milliseconds(5))
        #expect(try await socket.writes() == [["e2", "health", "e3"]])
    }

    @Test("with interval zero every event is written at once, with no time passing")
    func zeroInterval() async throws {
        let socket = try await Harness(interval: .zero)
        for seq in 1...3 as ClosedRange<UInt64> {
            socket.event(seq)
            #expect(try await socket.writes() == [["e\(seq)"]])
        }
    }

    @Test("one event's fan-out on one event loop: sockets quiet for the interval are written at once, the others together at the latest end of their intervals")
    func fanOut() async throws {
        let loop = NIOAsyncTestingEventLoop()
        let busy = try await Harness(interval: .milliseconds(5), loop: loop)
        let busier = try await Harness(interval: .milliseconds(5), loop: loop)
        let quiet = try await Harness(interval: .milliseconds(5), loop: loop)
        busy.event(1)
        await loop.advanceTime(by: .milliseconds(2))
        busier.event(1)
        await loop.advanceTime(by: .milliseconds(1))
        #expect(try await busy.writes() == [["e1"]])
        #expect(try await busier.writes() == [["e1"]])
        // At 3 ms: busy's interval ends at 5 ms, busier's at 7 ms, quiet was never written.
        SocketWriter.wake([busy, busier, quiet].compactMap { $0.queue(2) })
        #expect(try await quiet.writes() == [["e2"]])
        await loop.advanceTime(by: .milliseconds(3))
        #expect(try await busy.writes() == [])
        await loop.advanceTime(by: .milliseconds(1))
        #expect(try await busy.writes() == [["e2"]])
        #expect(try await busier.writes() == [["e2"]])
    }
}
