import ChorusCluster
import Foundation
import NIOCore
import NIOHTTP1

/// Setting a drill up: the cluster is up, rooms are created so that every node owns some, and their
/// members have joined.
extension Drill.Session {
    /// Waits (up to 60 s) until every node's admin view shows every node `up`.
    func waitUntilAllUp() async throws {
        let names = self.names
        let seen = await Drill.pollViews(
            connections: connections, nodes: Array(names.indices), token: serverToken, timeout: Self.rejoinTimeout,
            { view in names.allSatisfy { view.status(of: $0) == "up" } })
        guard seen != nil else {
            throw BenchError("the cluster did not come up within \(Int(Self.rejoinTimeout)) s: not every node sees every other one up")
        }
    }

    /// Creates the rooms and their members: one sender and the subscribers per room, each its own user.
    ///
    /// Rooms are created until each node owns at least one (when there are at least as many rooms as
    /// nodes), so every target of a kill takes channels down with it; the owner comes from the same
    /// hash ring the nodes use (`channel/<id>` on the ring of the node names). Extra rooms made on the
    /// way are left empty.
    func setUpRooms() async throws -> [Drill.Room] {
        let c = configuration
        let ring = HashRing(nodes: names, virtualNodes: nodes.virtualNodes)
        let creatorToken = userToken("drill-\(runID)-creator")
        var chosen: [(id: String, owner: Int)] = []
        var uncovered = Set(names.indices)
        var created = 0
        while chosen.count < c.channels {
            created += 1
            let id = try await createRoom(name: "drill \(runID) \(created)", token: creatorToken, node: created % names.count)
            let owner = ring.owner(of: "channel/\(id)").flatMap { names.firstIndex(of: $0) } ?? 0
            let slotsLeft = c.channels - chosen.count - 1
            if uncovered.contains(owner) || slotsLeft >= uncovered.count || created > 10 * c.channels {
                chosen.append((id, owner))
                uncovered.remove(owner)
            }
        }
        let rooms = chosen.enumerated().map { index, room in
            Drill.Room(
                index: index, id: room.id, owner: room.owner, senderToken: userToken(senderID(index)),
                subscriberTokens: (0..<c.subscribersPerChannel).map { userToken(subscriberID(index, $0)) })
        }
        var joins: [(room: String, user: String)] = []
        for room in rooms {
            joins.append((room.id, senderID(room.index)))
            for subscriber in 0..<c.subscribersPerChannel { joins.append((room.id, subscriberID(room.index, subscriber))) }
        }
        let tokens = joins.map { userToken($0.user) }
        let (connections, nodeCount, allJoins) = (self.connections, names.count, joins)
        _ = try await concurrently(allJoins.count, limit: 32) { n -> Void in
            let join = allJoins[n]
            let reply = try await connections.request(
                node: n % nodeCount, .POST, "/v1/channels/\(join.room)/members", token: tokens[n], json: #"{"user_id":"\#(join.user)"}"#,
                timeout: .seconds(10))
            guard reply.status == 201 else {
                throw BenchError("\(join.user) could not join channel \(join.room): HTTP \(reply.status) \(reply.text.prefix(200))")
            }
        }
        return rooms
    }

    func senderID(_ room: Int) -> String { "drill-\(runID)-c\(room)-sender" }

    func subscriberID(_ room: Int, _ index: Int) -> String { "drill-\(runID)-c\(room)-s\(index)" }

    private func createRoom(name: String, token: String, node: Int) async throws -> String {
        let reply = try await connections.request(
            node: node, .POST, "/v1/channels", token: token, json: #"{"type":"room","name":"\#(name)"}"#, timeout: .seconds(10))
        guard reply.status == 201, let room = try? JSONDecoder().decode(CreatedRoom.self, from: Data(reply.body.readableBytesView)) else {
            throw BenchError("creating a channel failed: HTTP \(reply.status) \(reply.text.prefix(200))")
        }
        return room.id
    }

    private struct CreatedRoom: Decodable {
        var id: String
    }
}

extension Drill {
    /// Polls every node of `nodes` (`GET /v1/admin/cluster` every 50 ms) until `condition` holds on each;
    /// returns the monotonic time it first held on each, or nil if it did not hold on all of them within
    /// `timeout` seconds. The time is when the answer arrived: the admin view waits up to 1 s for a peer
    /// that does not answer (a paused one), so it may be late by that much.
    static func pollViews(
        connections: Connections, nodes: [Int], token: String, timeout: Double, _ condition: @escaping @Sendable (AdminView) -> Bool
    ) async -> [UInt64]? {
        await withTaskGroup(of: UInt64?.self, returning: [UInt64]?.self) { group in
            for node in nodes {
                group.addTask {
                    let deadline = monotonicNanos() + Session.nanos(timeout)
                    while monotonicNanos() < deadline, !Task.isCancelled {
                        if let reply = try? await connections.request(node: node, .GET, "/v1/admin/cluster", token: token, timeout: .seconds(2)),
                            reply.status == 200, let view = AdminView.parse(reply.text), condition(view)
                        {
                            return monotonicNanos()
                        }
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                    return nil
                }
            }
            var times: [UInt64] = []
            for await time in group {
                guard let time else {
                    group.cancelAll()
                    return nil
                }
                times.append(time)
            }
            return times
        }
    }
}
