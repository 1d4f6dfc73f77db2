import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Everything the connections of one event loop measure. Used on that loop only, so the hot path takes
/// no locks; the runner reads it with `submit` on the loop.
final class LoopStats {
    /// Messages sent in `[windowStart, windowEnd)` are measured (monotonic nanoseconds).
    var windowStart = UInt64.max
    var windowEnd = UInt64.max

    var endToEnd = LatencyHistogram()
    var ack = LatencyHistogram()
    var counts = LoadCounts()

    /// One tracker per subscriber on this loop, and the channel each belongs to.
    var trackers: [DeliveryTracker] = []
    var trackerChannels: [Int] = []
    /// Lowest and highest acknowledged sequence number per channel, from this loop's senders.
    var acknowledged: [Int: ClosedRange<UInt64>] = [:]

    func addSubscriber(channel: Int) -> Int {
        trackers.append(DeliveryTracker())
        trackerChannels.append(channel)
        return trackers.count - 1
    }

    @inline(__always)
    func recordDelivery(sentAt: UInt64) {
        let now = monotonicNanos()
        let latency = now >= sentAt ? now - sentAt : 0
        counts.delivered += 1
        counts.interval.record(nanoseconds: latency)
        if sentAt >= windowStart && sentAt < windowEnd { endToEnd.record(nanoseconds: latency) }
        if now >= windowStart && now < windowEnd { counts.deliveredInWindow += 1 }
    }

    func recordAck(channel: Int, seq: UInt64, sentAt: UInt64) {
        counts.acked += 1
        if sentAt >= windowStart && sentAt < windowEnd {
            let now = monotonicNanos()
            ack.record(nanoseconds: now >= sentAt ? now - sentAt : 0)
        }
        if let range = acknowledged[channel] {
            acknowledged[channel] = min(range.lowerBound, seq)...max(range.upperBound, seq)
        } else {
            acknowledged[channel] = seq...seq
        }
    }

    func recordSendError(_ kind: String) {
        counts.sendErrors[kind, default: 0] += 1
    }
}

/// The counters of one loop (or, summed, of all): what a progress line and the result need.
struct LoadCounts: Sendable {
    var delivered = 0
    var deliveredInWindow = 0
    var sent = 0
    var acked = 0
    var backlogSkipped = 0
    var sendErrors: [String: Int] = [:]
    var disconnects = 0
    /// Send schedules that have not ended yet.
    var activeSenders = 0
    /// Every delivery's latency since the last progress line.
    var interval = LatencyHistogram()

    /// Sends neither acknowledged nor failed yet.
    var outstanding: Int { sent - acked - sendErrors.values.reduce(0, +) }

    static func + (a: LoadCounts, b: LoadCounts) -> LoadCounts {
        var sum = a
        sum.delivered += b.delivered
        sum.deliveredInWindow += b.deliveredInWindow
        sum.sent += b.sent
        sum.acked += b.acked
        sum.backlogSkipped += b.backlogSkipped
        sum.sendErrors.merge(b.sendErrors, uniquingKeysWith: +)
        sum.disconnects += b.disconnects
        sum.activeSenders += b.activeSenders
        sum.interval.add(b.interval)
        return sum
    }
}

// MARK: - Subscribers

/// Reassembles fragmented WebSocket messages, answers pings and hands each whole message on.
class WebSocketClientHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let stats: LoopStats
    let ready: EventLoopPromise<Void>
    private var fragments: ByteBuffer?
    private(set) var isReady = false

    init(stats: LoopStats, ready: EventLoopPromise<Void>) {
        self.stats = stats
        self.ready = ready
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary, .continuation:
            var data = frame.unmaskedData
            if frame.fin && fragments == nil {
                received(context: context, data)
            } else {
                fragments = fragments ?? ByteBuffer()
                fragments!.writeBuffer(&data)
                if frame.fin, let whole = fragments {
                    fragments = nil
                    received(context: context, whole)
                }
            }
        case .ping:
            context.writeClientFrame(.pong, frame.unmaskedData)
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }

    /// One whole text or binary message.
    func received(context: ChannelHandlerContext, _ message: ByteBuffer) {}

    func handlerAdded(context: ChannelHandlerContext) {}

    func markReady() {
        isReady = true
        ready.succeed()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if isReady { stats.counts.disconnects += 1 }
        ready.fail(BenchError("the server closed the WebSocket before it was ready"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// A v1 protocol client: ends the resume window at `hello`, then checks and times every event.
final class ChorusSubscriber: WebSocketClientHandler {
    private let tracker: Int

    init(stats: LoopStats, channel: Int, ready: EventLoopPromise<Void>) {
        tracker = stats.addSubscriber(channel: channel)
        super.init(stats: stats, ready: ready)
    }

    override func received(context: ChannelHandlerContext, _ message: ByteBuffer) {
        guard let frame = message.withUnsafeReadableBytes({ ScannedFrame.scan($0) }) else { return }
        if let seq = frame.seq {
            stats.trackers[tracker].observe(seq)
            if frame.type == "message", let body = frame.body, let payload = Payload.parse(body) {
                stats.recordDelivery(sentAt: payload.sentAt)
            }
        } else if frame.type == "hello" {
            markReady()  // events are live from `hello` on (the subscriber does not resume)
        } else if frame.type == "error", !isReady {
            ready.fail(BenchError("the server refused the WebSocket: \(String(buffer: message))"))
        } else if frame.type == "resume_failed" {
            // The server could not follow the room for this socket (its owner stayed out of reach):
            // its stream is incomplete from here. Closing counts it as a disconnect in the report.
            context.close(promise: nil)
        }
    }
}

/// An MQTT 3.1.1 client over WebSocket: a subscriber of one topic, or a publisher at QoS 1.
final class MQTTClientHandler: WebSocketClientHandler {
    enum Role {
        case subscriber(topic: String, tracker: Int)
        case publisher(topic: String, channel: Int)
    }

    private let role: Role
    private let clientID: String
    private var parser = MQTT.Parser()
    private var context: ChannelHandlerContext?
    private var nextPacketID: UInt16 = 1
    /// Unacknowledged publishes: packet id → (counter, send time).
    private var pending: [UInt16: (counter: UInt64, sentAt: UInt64)] = [:]

    init(stats: LoopStats, role: Role, clientID: String, ready: EventLoopPromise<Void>) {
        self.role = role
        self.clientID = clientID
        super.init(stats: stats, ready: ready)
    }

    static func subscriber(stats: LoopStats, topic: String, channel: Int, clientID: String, ready: EventLoopPromise<Void>) -> MQTTClientHandler {
        MQTTClientHandler(stats: stats, role: .subscriber(topic: topic, tracker: stats.addSubscriber(channel: channel)), clientID: clientID, ready: ready)
    }

    var outstanding: Int { pending.count }

    override func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Keep-alive 0: the broker does not expect pings, so long runs need no timer.
        context.writeClientFrame(.binary, ByteBuffer(bytes: MQTT.connect(clientID: clientID, keepAliveSeconds: 0)))
    }

    override func received(context: ChannelHandlerContext, _ message: ByteBuffer) {
        parser.append(message.readableBytesView)
        do {
            while let packet = try parser.next() { handle(packet, context: context) }
        } catch {
            ready.fail(error)
            context.close(promise: nil)
        }
    }

    private func handle(_ packet: MQTT.Packet, context: ChannelHandlerContext) {
        switch packet.type {
        case .connack:
            guard packet.body.count == 2, packet.body[1] == 0 else {
                ready.fail(BenchError("the broker refused the MQTT connection (CONNACK \(packet.body))"))
                return
            }
            switch role {
            case .subscriber(let topic, _):
                context.writeClientFrame(.binary, ByteBuffer(bytes: MQTT.subscribe(topic: topic, packetID: 1)))
            case .publisher:
                markReady()
            }
        case .suback:
            guard packet.body.count >= 3, packet.body[2] != 0x80 else {
                ready.fail(BenchError("the broker refused the MQTT subscription"))
                return
            }
            markReady()
        case .publish:
            guard case .subscriber(_, let tracker) = role, let publish = packet.publish,
                  let payload = Payload.parse(publish.payload) else { return }
            stats.trackers[tracker].observe(payload.counter)
            stats.recordDelivery(sentAt: payload.sentAt)
        case .puback:
            guard case .publisher(_, let channel) = role, let id = packet.packetID,
                  let sent = pending.removeValue(forKey: id) else { return }
            stats.recordAck(channel: channel, seq: sent.counter, sentAt: sent.sentAt)
        default:
            break
        }
    }

    func publish(counter: UInt64, sentAt: UInt64, payload: [UInt8], flush: Bool) -> Bool {
        guard case .publisher(let topic, _) = role, let context, pending.count < 65_000 else { return false }
        repeat { nextPacketID = nextPacketID == .max ? 1 : nextPacketID + 1 } while pending[nextPacketID] != nil
        pending[nextPacketID] = (counter, sentAt)
        context.writeClientFrame(.binary, ByteBuffer(bytes: MQTT.publish(topic: topic, payload: payload, qos: 1, packetID: nextPacketID)), flush: flush)
        return true
    }

    func flush() { context?.flush() }

    override func channelInactive(context: ChannelHandlerContext) {
        for _ in pending { stats.recordSendError("connection closed") }
        pending.removeAll()
        super.channelInactive(context: context)
    }
}

// MARK: - Senders

/// How a sender gets one message to the server; each completes asynchronously into `LoopStats`.
protocol MessageTransport: AnyObject {
    var outstanding: Int { get }
    /// Writes one message without flushing; false if it could not be written.
    func send(counter: UInt64, sentAt: UInt64, payload: [UInt8]) -> Bool
    func flush()
}

/// `POST /v1/channels/{id}/messages` on a pipelined connection; the reply's `seq` is the acknowledgement.
final class ChorusHTTPTransport: MessageTransport {
    let http: HTTPClientHandler
    let stats: LoopStats
    let channel: Int
    let path: String
    let token: String

    init(http: HTTPClientHandler, stats: LoopStats, channel: Int, channelID: String, token: String) {
        self.http = http
        self.stats = stats
        self.channel = channel
        self.path = "/v1/channels/\(channelID)/messages"
        self.token = token
    }

    var outstanding: Int { http.outstanding }

    func send(counter: UInt64, sentAt: UInt64, payload: [UInt8]) -> Bool {
        var body = ByteBuffer()
        body.writeString(#"{"body":""#)
        body.writeBytes(payload)
        body.writeString(#""}"#)
        let stats = self.stats
        let channel = self.channel
        http.send(method: .POST, path: path, token: token, body: body, flush: false) { reply in
            guard let reply else { return stats.recordSendError("connection closed") }
            guard (200..<300).contains(reply.status) else { return stats.recordSendError("HTTP \(reply.status)") }
            guard let seq = reply.body.withUnsafeReadableBytes({ ScannedFrame.scan($0)?.seq }) else {
                return stats.recordSendError("reply without seq")
            }
            stats.recordAck(channel: channel, seq: seq, sentAt: sentAt)
        }
        return true
    }

    func flush() { http.flush() }
}

extension MQTTClientHandler: MessageTransport {
    func send(counter: UInt64, sentAt: UInt64, payload: [UInt8]) -> Bool {
        publish(counter: counter, sentAt: sentAt, payload: payload, flush: false)
    }
}

/// Sends on an open-loop schedule: at every tick, as many messages as are due by now at `rate`,
/// whether or not earlier ones were answered (so a slow server shows up as latency, not as a lower rate).
final class SenderSchedule {
    let transport: any MessageTransport
    let stats: LoopStats
    let rate: Double
    let start: UInt64
    let end: UInt64
    let payloadBytes: Int
    let maxOutstanding: Int
    private var scheduled = 0
    private var counter: UInt64 = 0

    init(transport: any MessageTransport, stats: LoopStats, rate: Double, start: UInt64, end: UInt64, payloadBytes: Int, maxOutstanding: Int = 10_000) {
        self.transport = transport
        self.stats = stats
        self.rate = rate
        self.start = start
        self.end = end
        self.payloadBytes = payloadBytes
        self.maxOutstanding = maxOutstanding
        stats.counts.activeSenders += 1
    }

    /// Sends what is due by `now`; false once the schedule has ended. A schedule that starts
    /// after its end (a slow sender's phase can fall past a short window) sends nothing.
    func tick(now: UInt64 = monotonicNanos()) -> Bool {
        guard now >= min(start, end) else { return true }
        let until = min(now, end)
        let due = until >= start ? Int((Double(until - start) / 1e9 * rate).rounded(.down)) + 1 : 0
        var wrote = false
        while scheduled < due {
            scheduled += 1
            guard transport.outstanding < maxOutstanding else {
                stats.counts.backlogSkipped += 1
                continue
            }
            counter += 1
            let sentAt = monotonicNanos()
            if transport.send(counter: counter, sentAt: sentAt, payload: Payload.make(sentAt: sentAt, counter: counter, size: payloadBytes)) {
                stats.counts.sent += 1
                wrote = true
            } else {
                stats.recordSendError("not connected")
            }
        }
        if wrote { transport.flush() }
        if now >= end { stats.counts.activeSenders -= 1 }
        return now < end
    }
}
