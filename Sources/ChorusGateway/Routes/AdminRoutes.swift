import ChorusActorSystem
import ChorusChat
import ChorusCluster
import ChorusModel
import Foundation
import Hummingbird
import ServiceLifecycle

/// `/v1/admin`: operator views (server token).
struct AdminRoutes {
    let node: ChatNode
    let faults: FaultInjectingTransport?
    let health: NodeHealth

    func register(on v1: RouterGroup<ChorusRequestContext>) {
        v1.get("admin/cluster", use: cluster)
        v1.get("admin/cluster/stream", use: clusterStream)
        v1.post("admin/faults", use: setFaults)
    }

    /// `POST /v1/admin/faults` `{"isolated": true|false}`: cuts this node off from its peers, or
    /// heals it (a drill's partition; docs/drill.md). Only with `cluster.fault_injection: true`;
    /// otherwise 404 `NOT_FOUND`. Answers `{"isolated": …}`.
    @Sendable func setFaults(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        try context.requireServer()
        guard let faults else {
            throw ChatError(.notFound, "fault injection is off on this node (cluster.fault_injection: true turns it on, for drills only)")
        }
        let body = try await JSONBody.decode(FaultsBody.self, from: request, limit: 1024)
        faults.isolated = body.isolated
        return try JSONBody.response(FaultsBody(isolated: faults.isolated))
    }

    struct FaultsBody: Codable {
        var isolated: Bool
    }

    /// Each node's status, the ring epoch, the metadata log's term and leader, how many channel and
    /// user actors each node hosts, and (with replication) its primaries, backups, newest term and
    /// replication lag.
    @Sendable func cluster(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        try context.requireServer()
        let view = await node.clusterView()
        return try JSONBody.response(ClusterBody(view: view))
    }

    /// `GET /v1/admin/cluster/stream?interval_ms=1000`: the cluster view as server-sent events,
    /// `event: cluster` with the body of `GET /v1/admin/cluster`, every `interval_ms` (100-60000)
    /// until the client goes away (noticed at the next write) or the node stops (the dashboard
    /// follows it). The first event goes out at once.
    @Sendable func clusterStream(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        try context.requireServer()
        let interval: Int
        switch request.uri.queryParameters.get("interval_ms").map({ Int($0) }) {
        case nil: interval = 1000
        case let value?? where (100...60_000).contains(value): interval = value
        default: throw ChatError(.invalidRequest, "interval_ms must be an integer from 100 to 60000")
        }
        let (node, health) = (node, health)
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            repeat {
                let body = try JSONBody.encoder.encode(ClusterBody(view: await node.clusterView()))
                var frame = ByteBuffer(string: "event: cluster\ndata: ")
                frame.writeBytes(body)
                frame.writeString("\n\n")
                try await writer.write(frame)
                // A stopping node ends the wait at once, so a stream never holds up a shutdown.
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(interval)) }
            } while !health.isDraining && !Task.isShuttingDownGracefully && !Task.isCancelled
            try await writer.finish(nil)
        })
    }
}

struct ClusterBody: Encodable {
    var view: ClusterView

    enum CodingKeys: String, CodingKey { case node, ringEpoch = "ring_epoch", timeMs = "time_ms", nodes, metadata }
    enum MetadataKeys: String, CodingKey { case term, leader, role, commitIndex = "commit_index" }
    enum NodeKeys: String, CodingKey {
        case name, status, isSelf = "self", onRing = "on_ring", ringShare = "ring_share", channelActors = "channel_actors"
        case userActors = "user_actors", counters, replication
    }
    enum ReplicationKeys: String, CodingKey {
        case primaries, backups, recovering, newestTerm = "newest_term", newestTermEpoch = "newest_term_epoch", lagging
        case lagRecords = "lag_records", maxLagRecords = "max_lag_records"
    }
    enum KindKeys: String, CodingKey { case channels, users }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(view.node, forKey: .node)
        try c.encode(view.ringEpoch, forKey: .ringEpoch)
        try c.encode(Int64((Date().timeIntervalSince1970 * 1000).rounded()), forKey: .timeMs)
        if let metadata = view.metadata {
            var m = c.nestedContainer(keyedBy: MetadataKeys.self, forKey: .metadata)
            try m.encode(metadata.term, forKey: .term)
            try m.encode(metadata.leader, forKey: .leader)
            try m.encode(metadata.role, forKey: .role)
            try m.encode(metadata.commitIndex, forKey: .commitIndex)
        }
        var nodes = c.nestedUnkeyedContainer(forKey: .nodes)
        for node in view.nodes {
            var n = nodes.nestedContainer(keyedBy: NodeKeys.self)
            try n.encode(node.name, forKey: .name)
            try n.encode(node.status, forKey: .status)
            try n.encode(node.isSelf, forKey: .isSelf)
            try n.encode(node.onRing, forKey: .onRing)
            try n.encode((node.ringShare * 10_000).rounded() / 10_000, forKey: .ringShare)
            try n.encode(node.actors.map { $0[ChannelActor.kind] ?? 0 }, forKey: .channelActors)
            try n.encode(node.actors.map { $0[UserActor.kind] ?? 0 }, forKey: .userActors)
            try n.encodeIfPresent(node.counters, forKey: .counters)
            if let replication = node.replication {
                var r = n.nestedContainer(keyedBy: ReplicationKeys.self, forKey: .replication)
                for (key, counts) in [(ReplicationKeys.primaries, replication.primaries), (.backups, replication.backups)] {
                    var k = r.nestedContainer(keyedBy: KindKeys.self, forKey: key)
                    try k.encode(counts[ChannelActor.kind] ?? 0, forKey: .channels)
                    try k.encode(counts[UserActor.kind] ?? 0, forKey: .users)
                }
                try r.encode(replication.recovering, forKey: .recovering)
                try r.encode(replication.newestTerm, forKey: .newestTerm)
                try r.encode(replication.newestTerm >> 32, forKey: .newestTermEpoch)
                try r.encode(replication.lagging, forKey: .lagging)
                try r.encode(replication.lagRecords, forKey: .lagRecords)
                try r.encode(replication.maxLagRecords, forKey: .maxLagRecords)
            }
        }
    }
}
