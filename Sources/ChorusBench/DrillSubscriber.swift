import Foundation
import NIOCore
import NIOWebSocket
import Synchronization

extension Drill {
    /// What one WebSocket subscriber received of its room, over all its connections: the input of its
    /// ``StreamCheck``, and its resume point.
    ///
    /// Written by its connection's handler on an event loop and by its ``SubscriberRunner`` (reloads),
    /// read by the progress line and the checks, hence a `Mutex`.
    final class SubscriberLog: Sendable {
        struct State: Sendable {
            /// Seqs of the `message` events received over sockets, in arrival order.
            var delivered: [UInt64] = []
            /// Seqs read over REST after a `resume_failed` `HISTORY_UNAVAILABLE`.
            var reloaded: Set<UInt64> = []
            /// Every message seq the subscriber has, either way.
            var received: Set<UInt64> = []
            /// The highest seq of any logged event seen: where a resume starts.
            var lastSeq: UInt64 = 0
            /// The newest message id seen.
            var lastMessageID: UInt64 = 0
            /// Where the pending REST reload starts: the newest message id seen when the resume
            /// failed. Live events that arrive before the reload runs must not move it, or the
            /// reload would skip what the failed resume missed.
            var reloadAfter: UInt64 = 0
            /// After a `resume_failed` the channel goes live from the server's buffer, and the protocol
            /// has the client drop events it already has up to what it (re)loaded: repeats at or below
            /// this are the client's to drop, not the server's duplicates.
            var tolerateUpTo: UInt64 = 0
            var connections = 0
            var reloads = 0
            var reloadFailures = 0
            /// The open socket, to close at the end.
            var socket: (any Channel)?
        }

        let room: Int
        /// The node the subscriber connects to first (it moves on to the next one on a failure).
        let home: Int
        private let state = Mutex(State())

        init(room: Int, home: Int = 0) {
            self.room = room
            self.home = home
        }

        /// A logged event; `messageID` is set for `message` events.
        func observe(seq: UInt64, messageID: UInt64?) {
            state.withLock { s in
                if let messageID {
                    if s.received.contains(seq) && seq <= s.tolerateUpTo {
                        // Already had it (loaded or delivered before the resume failed): the client drops it.
                    } else {
                        s.delivered.append(seq)
                        s.received.insert(seq)
                    }
                    s.lastMessageID = max(s.lastMessageID, messageID)
                }
                s.lastSeq = max(s.lastSeq, seq)
            }
        }

        /// The server could not replay: from here on, repeats of what the client has are its to drop.
        func noteResumeFailed() {
            state.withLock { s in
                s.tolerateUpTo = max(s.tolerateUpTo, s.lastSeq)
                s.reloadAfter = s.lastMessageID
            }
        }

        /// Messages read over REST after a failed resume.
        func noteReloaded(_ entries: [HistoryEntry]) {
            state.withLock { s in
                s.reloads += 1
                for entry in entries {
                    s.reloaded.insert(entry.seq)
                    s.received.insert(entry.seq)
                    s.lastMessageID = max(s.lastMessageID, entry.messageID)
                    s.lastSeq = max(s.lastSeq, entry.seq)
                    s.tolerateUpTo = max(s.tolerateUpTo, entry.seq)
                }
            }
        }

        func noteReloadFailed() {
            state.withLock { $0.reloadFailures += 1 }
        }

        func noteConnected(_ socket: any Channel) {
            state.withLock { s in
                s.connections += 1
                s.socket = socket
            }
        }

        var snapshot: State { state.withLock { $0 } }

        /// Where a reload after a failed resume starts (see ``State/reloadAfter``).
        var reloadAfter: UInt64 { state.withLock { $0.reloadAfter } }

        /// Connections that got to `hello`.
        var connectionCount: Int { state.withLock { $0.connections } }

        var deliveryCount: Int { state.withLock { $0.delivered.count } }

        /// The first frame of a connection: an empty resume on the first (everything after `hello` is
        /// live), then a resume of the room from the last seq seen.
        func resumeFrame(channelID: String) -> String {
            state.withLock { s in
                s.connections == 0
                    ? #"{"type":"resume","channels":{}}"#
                    : #"{"type":"resume","channels":{"\#(channelID)":\#(s.lastSeq)}}"#
            }
        }

        /// Whether every seq of `expected` has arrived.
        func hasReceived(all expected: Set<UInt64>) -> Bool {
            state.withLock { expected.isSubset(of: $0.received) }
        }

        func closeSocket() {
            state.withLock { $0.socket }?.close(promise: nil)
        }
    }

    /// What a connection tells its runner.
    enum SubscriberSignal: Sendable {
        /// The socket closed.
        case closed
        /// `resume_failed` with `HISTORY_UNAVAILABLE`: reload the room over REST.
        case reload
        /// `resume_failed` for another reason (the session could not follow the room: its owner or the
        /// user's node is down): reconnect elsewhere and resume again.
        case reconnect(String)
    }

    /// One connection of a drill subscriber, on its event loop: answers `hello` with the resume frame
    /// and records every logged event in the subscriber's log.
    final class SubscriberHandler: WebSocketClientHandler {
        private let log: SubscriberLog
        private let resumeFrame: String
        private let signals: AsyncStream<SubscriberSignal>.Continuation

        init(log: SubscriberLog, resumeFrame: String, signals: AsyncStream<SubscriberSignal>.Continuation, ready: EventLoopPromise<Void>) {
            self.log = log
            self.resumeFrame = resumeFrame
            self.signals = signals
            super.init(stats: LoopStats(), ready: ready)
        }

        override func received(context: ChannelHandlerContext, _ message: ByteBuffer) {
            guard let frame = message.withUnsafeReadableBytes({ ScannedFrame.scan($0) }) else { return }
            switch frame.type {
            case "hello":
                context.writeClientFrame(.text, ByteBuffer(string: resumeFrame))
                markReady()
            case "message":
                // A message whose id cannot be read still counts as delivered (0: no REST cursor from it).
                if let seq = frame.seq { log.observe(seq: seq, messageID: Self.fields(of: message)?.data?.id.flatMap { UInt64($0) } ?? 0) }
            case "resume_failed":
                let code = Self.fields(of: message)?.error?.code ?? "unknown"
                if code == "HISTORY_UNAVAILABLE" {
                    log.noteResumeFailed()
                    signals.yield(.reload)
                } else {
                    signals.yield(.reconnect(code))
                }
            case "error":
                if !isReady { ready.fail(BenchError("the server refused the WebSocket: \(String(buffer: message))")) }
            default:
                if let seq = frame.seq { log.observe(seq: seq, messageID: nil) }
            }
        }

        override func channelInactive(context: ChannelHandlerContext) {
            signals.yield(.closed)
            super.channelInactive(context: context)
        }

        /// The few fields read beyond `type` and `seq`: a message's id, an error's code.
        struct Fields: Decodable {
            var data: DataFields?
            var error: ErrorFields?

            struct DataFields: Decodable { var id: String? }
            struct ErrorFields: Decodable { var code: String }
        }

        static func fields(of message: ByteBuffer) -> Fields? {
            try? JSONDecoder().decode(Fields.self, from: Data(message.readableBytesView))
        }
    }
}
