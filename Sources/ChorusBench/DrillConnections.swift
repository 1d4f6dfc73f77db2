import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

extension Drill {
    /// Keep-alive HTTP connections to every node, one request at a time on each.
    ///
    /// Not pipelined, unlike the fan-out benchmark's senders: during a fault a request can wait seconds
    /// (a call to a dead owner, a paused node), and a pipelined connection would hold every healthy
    /// channel's sends behind it, so the windows would measure the queue instead of the cluster. A request
    /// takes an idle connection to its node or opens one; a connection that fails is closed and dropped.
    final class Connections: Sendable {
        private let group: MultiThreadedEventLoopGroup
        private let endpoints: [Endpoint]
        private let idle = Mutex<[Int: [HTTPConnection]]>([:])
        /// Every connection opened and still active, to close at the end.
        private let opened = Mutex<[HTTPConnection]>([])

        init(group: MultiThreadedEventLoopGroup, endpoints: [Endpoint]) {
            self.group = group
            self.endpoints = endpoints
        }

        /// One request to `node`; throws if it cannot connect (within 2 s) or gets no answer within `timeout`.
        func request(node: Int, _ method: HTTPMethod, _ path: String, token: String?, json: String? = nil, timeout: Duration) async throws -> HTTPReply {
            let connection = try await checkout(node)
            do {
                let reply = try await connection.request(method, path, token: token, json: json, timeout: Drill.timeAmount(timeout))
                idle.withLock { $0[node, default: []].append(connection) }
                return reply
            } catch {
                connection.channel.close(promise: nil)
                throw error
            }
        }

        private func checkout(_ node: Int) async throws -> HTTPConnection {
            while let connection = idle.withLock({ $0[node]?.popLast() }) {
                if connection.channel.isActive { return connection }
            }
            let endpoint = endpoints[node]
            let loop = group.next()
            let connection = try await Drill.withDeadline(.seconds(2), "connecting to \(endpoint)", discard: { $0.channel.close(promise: nil) }) {
                try await HTTPConnection.connect(to: endpoint, on: loop)
            }
            opened.withLock { opened in
                opened.removeAll { !$0.channel.isActive }
                opened.append(connection)
            }
            return connection
        }

        func closeAll() async {
            for connection in opened.withLock({ $0 }) { await connection.close() }
        }
    }

    /// A flag that exactly one caller can claim.
    final class Settled: Sendable {
        private let flag = Atomic<Bool>(false)

        func claim() -> Bool {
            flag.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        }
    }

    /// Runs `operation`, but returns (throwing) after `timeout` if it has not finished by then.
    ///
    /// NIO futures do not answer task cancellation, so a task group with a timer child would still wait
    /// for them; here the operation keeps running in its own task, and a result that comes too late is
    /// handed to `discard` (to close a connection nobody will use).
    static func withDeadline<T: Sendable>(
        _ timeout: Duration, _ what: String, discard: @escaping @Sendable (T) -> Void = { _ in },
        _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let settled = Settled()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let timer = Task {
                try await Task.sleep(for: timeout)
                if settled.claim() { continuation.resume(throwing: BenchError("\(what): no answer within \(timeout)")) }
            }
            Task {
                do {
                    let value = try await operation()
                    timer.cancel()
                    if settled.claim() { continuation.resume(returning: value) } else { discard(value) }
                } catch {
                    timer.cancel()
                    if settled.claim() { continuation.resume(throwing: error) }
                }
            }
        }
    }

    /// A `Duration` as NIO's `TimeAmount`.
    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// Seconds as a `Duration`, never negative.
    static func duration(_ seconds: Double) -> Duration {
        .nanoseconds(Int64(max(seconds, 0) * 1e9))
    }

    /// Sleeps until the monotonic clock reads `nanos` (returns at once if it has passed).
    static func sleep(until nanos: UInt64) async throws {
        let now = monotonicNanos()
        if nanos > now { try await Task.sleep(nanoseconds: nanos - now) }
    }
}

extension Drill {
    /// `GET /v1/admin/cluster` as the drill reads it: who answers, and each node's status.
    public struct AdminView: Sendable, Equatable, Decodable {
        public var node: String
        public var nodes: [Member]
        /// The metadata log as the answering node sees it (absent on a single node).
        public var metadata: Metadata?

        public struct Metadata: Sendable, Equatable, Decodable {
            public var leader: String?
        }

        public struct Member: Sendable, Equatable, Decodable {
            public var name: String
            public var status: String
        }

        /// `up`, `suspect` or `down` as the answering node sees `name`; nil if it is not on its ring.
        public func status(of name: String) -> String? {
            nodes.first { $0.name == name }?.status
        }

        /// Parses an answer; nil if it is not one.
        public static func parse(_ text: String) -> AdminView? {
            try? JSONDecoder().decode(AdminView.self, from: Data(text.utf8))
        }
    }

    /// One page of `GET /v1/channels/{id}/messages` as history entries.
    static func parseMessagePage(_ data: Data) throws -> (entries: [HistoryEntry], hasMore: Bool) {
        let page = try JSONDecoder().decode(MessagePage.self, from: data)
        var entries: [HistoryEntry] = []
        for message in page.messages {
            guard let id = UInt64(message.id) else { throw BenchError("a message id is not a decimal number: \(message.id)") }
            entries.append(HistoryEntry(
                messageID: id, seq: message.seq, clientID: clientID(inBody: message.body),
                edited: message.body.hasSuffix(" edited"),
                reacted: message.reactions.contains { $0.emoteAssetID == reactionEmote }))
        }
        return (entries, page.hasMore)
    }

    private struct MessagePage: Decodable {
        var messages: [Message]
        var hasMore: Bool

        enum CodingKeys: String, CodingKey { case messages, hasMore = "has_more" }

        struct Message: Decodable {
            var id: String
            var seq: UInt64
            var body: String
            var reactions: [Reaction]
        }

        struct Reaction: Decodable {
            var emoteAssetID: String

            enum CodingKeys: String, CodingKey { case emoteAssetID = "emote_asset_id" }
        }
    }

    /// A channel's messages after `after` (all of them from 0), oldest first, read from `node` in pages of 100.
    static func readMessages(connections: Connections, node: Int, channelID: String, token: String, after: UInt64 = 0) async throws -> [HistoryEntry] {
        var entries: [HistoryEntry] = []
        var cursor = after
        while true {
            let reply = try await connections.request(
                node: node, .GET, "/v1/channels/\(channelID)/messages?limit=100&after=\(cursor)", token: token, timeout: .seconds(10))
            guard reply.status == 200 else {
                throw BenchError("reading channel \(channelID): HTTP \(reply.status) \(reply.text.prefix(200))")
            }
            let page = try parseMessagePage(Data(reply.body.readableBytesView))
            entries += page.entries
            guard page.hasMore, let last = page.entries.last else { return entries }
            cursor = last.messageID
        }
    }
}
