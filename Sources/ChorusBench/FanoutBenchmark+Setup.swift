import ChorusAuth
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Setting a run up: users, tokens, channels, subscribers and senders.
extension FanoutBenchmark {
    // MARK: Setup

    /// Everything to close at the end.
    final class ConnectionBag: Sendable {
        private let channels = Mutex<[any Channel]>([])

        func add(_ channel: any Channel) { channels.withLock { $0.append(channel) } }

        func closeAll() async {
            for channel in channels.withLock({ $0 }) { try? await channel.close() }
        }
    }

    struct Sender: Sendable {
        var loop: any EventLoop
        var stats: NIOLoopBound<LoopStats>
        /// Makes the transport on the loop.
        var transport: @Sendable () -> any MessageTransport
    }

    func subscriberID(_ runID: String, _ channel: Int, _ index: Int) -> String { "bench-\(runID)-c\(channel)-s\(index)" }
    func senderID(_ runID: String, _ channel: Int, _ index: Int) -> String { "bench-\(runID)-c\(channel)-p\(index)" }

    func token(_ user: String) -> String {
        guard case .chorus(_, let secret, _) = target else { return "" }
        let now = Date().timeIntervalSince1970.rounded(.down)
        return JWT.sign(JWT.Claims(userID: user, name: user, exp: now + 86_400, iat: now), secret: Array(secret.utf8))
    }

    /// Chorus: a fresh room per channel, created by its first sender and joined by everyone else.
    /// MQTT: topic names only.
    func prepareChannels(runID: String, loops: [any EventLoop], connections: ConnectionBag) async throws -> [String] {
        guard case .chorus(let endpoints, _, _) = target else {
            return (0..<workload.channels).map { "bench/\(runID)/\($0)" }
        }
        var http: [HTTPConnection] = []
        for (index, endpoint) in endpoints.enumerated() {
            for k in 0..<4 {
                let connection = try await HTTPConnection.connect(to: endpoint, on: loops[(index * 4 + k) % loops.count])
                connections.add(connection.channel)
                http.append(connection)
            }
        }
        let connectionsForSetup = http
        let workload = self.workload
        progress("creating \(workload.channels) channel(s) with \(workload.subscribersPerChannel + workload.sendersPerChannel) members each")
        let ids = try await concurrently(workload.channels, limit: 64) { channel -> String in
            let owner = senderID(runID, channel, 0)
            let reply = try await connectionsForSetup[channel % connectionsForSetup.count].requestRetryingUnavailable(
                .POST, "/v1/channels", token: token(owner), json: #"{"type":"room","name":"bench \#(runID) \#(channel)"}"#)
            guard reply.status == 201,
                  let object = try? JSONSerialization.jsonObject(with: Data(reply.text.utf8)) as? [String: Any],
                  let id = object["id"] as? String else {
                throw BenchError("creating a channel failed: HTTP \(reply.status) \(reply.text)")
            }
            return id
        }
        let joiners = workload.sendersPerChannel - 1 + workload.subscribersPerChannel
        _ = try await concurrently(workload.channels * joiners, limit: 256) { n -> Void in
            let channel = n / joiners
            let k = n % joiners
            let user = k < workload.sendersPerChannel - 1 ? senderID(runID, channel, k + 1) : subscriberID(runID, channel, k - (workload.sendersPerChannel - 1))
            let reply = try await connectionsForSetup[n % connectionsForSetup.count].requestRetryingUnavailable(
                .POST, "/v1/channels/\(ids[channel])/members", token: token(user), json: #"{"user_id":"\#(user)"}"#)
            // A 409 after a retry: the attempt that got no answer in time did join.
            guard reply.status == 201 || (reply.status == 409 && reply.retried) else { throw BenchError("joining a channel failed: HTTP \(reply.status) \(reply.text)") }
        }
        return ids
    }

    func connectSubscribers(runID: String, channelIDs: [String], loops: [any EventLoop], stats: [NIOLoopBound<LoopStats>], connections: ConnectionBag) async throws {
        let endpoints = target.endpoints
        let workload = self.workload
        let target = self.target
        _ = try await concurrently(workload.subscribers, limit: 64) { n -> Void in
            let channel = n / workload.subscribersPerChannel
            let loop = loops[n % loops.count]
            let box = stats[n % loops.count]
            let endpoint = endpoints[n % endpoints.count]
            let ready = loop.makePromise(of: Void.self)
            let timeout = loop.scheduleTask(in: .seconds(15)) { ready.fail(BenchError("subscriber \(n) was not ready within 15 s")) }
            defer { timeout.cancel() }
            let socket: any Channel
            do {
                switch target {
                case .chorus:
                    let path = "/v1/ws?token=" + token(subscriberID(runID, channel, n % workload.subscribersPerChannel))
                    socket = try await WebSocketDialer.connect(to: endpoint, path: path, subprotocol: nil, on: loop) {
                        ChorusSubscriber(stats: box.value, channel: channel, ready: ready)
                    }
                case .mqtt:
                    let topic = channelIDs[channel]
                    let clientID = subscriberID(runID, channel, n % workload.subscribersPerChannel)
                    socket = try await WebSocketDialer.connect(to: endpoint, path: endpoint.path, subprotocol: "mqtt", on: loop) {
                        MQTTClientHandler.subscriber(stats: box.value, topic: topic, channel: channel, clientID: clientID, ready: ready)
                    }
                }
            } catch {
                ready.fail(error)
                throw error
            }
            connections.add(socket)
            try await ready.futureResult.get()
        }
    }

    func connectSenders(runID: String, channelIDs: [String], loops: [any EventLoop], stats: [NIOLoopBound<LoopStats>], connections: ConnectionBag) async throws -> [Sender] {
        var senders: [Sender] = []
        let endpoints = target.endpoints
        for channel in 0..<workload.channels {
            for index in 0..<workload.sendersPerChannel {
                let n = channel * workload.sendersPerChannel + index
                // Senders sit on the loops after the subscribers' so the two spread evenly.
                let loop = loops[(workload.subscribers + n) % loops.count]
                let box = stats[(workload.subscribers + n) % loops.count]
                let endpoint = endpoints[n % endpoints.count]
                switch target {
                case .chorus:
                    let connection = try await HTTPConnection.connect(to: endpoint, on: loop)
                    connections.add(connection.channel)
                    let channelID = channelIDs[channel]
                    let token = token(senderID(runID, channel, index))
                    senders.append(Sender(loop: loop, stats: box) {
                        ChorusHTTPTransport(http: connection.handler.value, stats: box.value, channel: channel, channelID: channelID, token: token)
                    })
                case .mqtt:
                    let ready = loop.makePromise(of: Void.self)
                    let topic = channelIDs[channel]
                    let clientID = senderID(runID, channel, index)
                    let socket: any Channel
                    do {
                        socket = try await WebSocketDialer.connect(to: endpoint, path: endpoint.path, subprotocol: "mqtt", on: loop) {
                            MQTTClientHandler(stats: box.value, role: .publisher(topic: topic, channel: channel), clientID: clientID, ready: ready)
                        }
                    } catch {
                        ready.fail(error)
                        throw error
                    }
                    connections.add(socket)
                    let timeout = loop.scheduleTask(in: .seconds(15)) { ready.fail(BenchError("the broker did not accept publisher \(clientID) within 15 s")) }
                    defer { timeout.cancel() }
                    try await ready.futureResult.get()
                    let handler = try await loop.submit {
                        NIOLoopBound(try socket.pipeline.syncOperations.handler(type: MQTTClientHandler.self), eventLoop: loop)
                    }.get()
                    senders.append(Sender(loop: loop, stats: box) { handler.value })
                }
            }
        }
        return senders
    }
}
