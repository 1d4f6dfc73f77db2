import ChorusActorSystem
import ChorusChat
import ChorusCluster
import Foundation
import ChorusModel
import ChorusWire
import Distributed
import Synchronization

distributed actor BenchEcho {
    typealias ActorSystem = ClusterActorSystem
    distributed func echo(_ value: Int) -> Int { value }
    distributed func take(_ event: ChannelEvent) -> UInt64 { event.seq ?? 0 }
}

/// Everything named `bench/*` lives on node `b`.
final class BenchPlacement: ActorPlacement {
    let node: String
    private struct Weak { weak var system: ClusterActorSystem? }
    private let system = Mutex(Weak())

    init(node: String) { self.node = node }

    func attach(_ system: ClusterActorSystem) { self.system.withLock { $0.system = system } }

    func remoteOwner(of id: ActorIdentity) -> String? { node == "b" ? nil : "b" }
    var epoch: UInt64 { 1 }

    func withLocalActor(for id: ActorIdentity, callerEpoch: UInt64, _ body: (any DistributedActor) async throws -> Void) async throws {
        guard let actor = system.withLock({ $0.system })?.localActor(id) else { throw RemoteCallError(.actorNotFound, "\(id)") }
        try await body(actor)
    }
}

/// Remote calls between two actor systems over loopback TCP, next to a local call;
/// `concurrentOnly`: just 1,000,000 calls from 64 concurrent callers (to profile them).
func remoteCallBenchmarks(concurrentOnly: Bool = false) async throws {
    func start(_ name: String) async throws -> (ClusterActorSystem, Int) {
        let system = ClusterActorSystem(nodeName: name)
        let placement = BenchPlacement(node: name)
        placement.attach(system)
        let port = try await system.startTransport(ClusterTransportConfiguration(cluster: "bench", secret: Array("s".utf8)), placement: placement)
        return (system, port)
    }
    let (a, _) = try await start("a")
    let (b, portB) = try await start("b")
    a.setPeers(["b": PeerAddress(host: "127.0.0.1", port: portB)])
    let id = ActorIdentity(kind: "bench", key: "echo")
    let local = b.withIdentity(id) { BenchEcho(actorSystem: b) }
    let remote = try BenchEcho.resolve(id: id, using: a)
    let message = Message(
        id: MessageID(rawValue: 1_843_000_000_000_042), channelID: ChannelID(rawValue: 1_843_000_000_000_001), seq: 7,
        senderID: UserID("alice")!, senderName: "Alice", body: String(repeating: "x", count: 64), attachments: [], inlineEmotes: [],
        createdAt: .seconds(1_800_000_000))
    let event = ChannelEvent(channelID: message.channelID, seq: 7, createdAt: message.createdAt, payload: .message(message))

    func concurrentEchoes(_ calls: Int, callers: Int = 64) async throws -> Result {
        try await measure("remote call, \(callers) concurrent callers (echo Int)", operations: calls) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<callers {
                    group.addTask { for i in 0..<(calls / callers) { _ = try await remote.echo(i) } }
                }
                try await group.waitForAll()
            }
        }
    }
    var results: [Result] = []
    if concurrentOnly {
        let callers = ProcessInfo.processInfo.environment["CALLERS"].flatMap(Int.init) ?? 64
        results.append(try await concurrentEchoes(1_000_000, callers: callers))
    } else {
        try await results.append(contentsOf: allRemoteCalls())
    }
    print("\n## Remote calls (`remote`): two actor systems over loopback TCP\n")
    print("| benchmark | calls | calls/s (wall) | CPU µs/call (both nodes) |")
    print("| --- | ---: | ---: | ---: |")
    for result in results {
        print("| \(result.name) | \(result.operations) | \(Int(result.perSecond)) | \(String(format: "%.2f", result.cpuMicrosPerOperation)) |")
    }
    await a.shutdownTransport()
    await b.shutdownTransport()
    withExtendedLifetime(local) {}

    func allRemoteCalls() async throws -> [Result] {
        var results: [Result] = []
        results.append(try await measure("local call (echo Int)", operations: 200_000) {
            for i in 0..<200_000 { _ = try await local.echo(i) }
        })
        results.append(try await measure("remote call, sequential (echo Int)", operations: 20_000) {
            for i in 0..<20_000 { _ = try await remote.echo(i) }
        })
        results.append(try await concurrentEchoes(100_000))
        results.append(try await measure("remote call, sequential (message event)", operations: 20_000) {
            for _ in 0..<20_000 { _ = try await remote.take(event) }
        })
        results.append(try await measure("remote call, 64 concurrent callers (message event)", operations: 100_000) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<64 {
                    group.addTask { for _ in 0..<(100_000 / 64) { _ = try await remote.take(event) } }
                }
                try await group.waitForAll()
            }
        })
        return results
    }
}

/// The binary coder alone, one thread: a message event (in its own layout since protocol 6) and
/// a channel's info with ten members (through `Codable`), encoded and decoded.
func coderBenchmarks() async throws {
    let message = Message(
        id: MessageID(rawValue: 1_843_000_000_000_042), channelID: ChannelID(rawValue: 1_843_000_000_000_001), seq: 7,
        senderID: UserID("alice")!, senderName: "Alice", body: String(repeating: "x", count: 64), attachments: [], inlineEmotes: [],
        createdAt: .seconds(1_800_000_000))
    let event = ChannelEvent(channelID: message.channelID, seq: 7, createdAt: message.createdAt, payload: .message(message))
    let bytes = try BinaryEncoder().encode(event)
    let members = (0..<10).map { Member(userID: UserID("user\($0)")!, role: .member, joinedAt: message.createdAt) }
    let info = ChannelInfo(id: message.channelID, kind: .room, name: "Lobby", ownerID: message.senderID, createdAt: message.createdAt)
    struct ChannelWithMembers: Codable { var info: ChannelInfo; var members: [Member] }
    let channel = ChannelWithMembers(info: info, members: members)
    let channelBytes = try BinaryEncoder().encode(channel)
    let count = 200_000
    var results: [Result] = []
    results.append(try await measure("encode (message event, own layout)", operations: count) {
        for _ in 0..<count { _ = try BinaryEncoder().encode(event) }
    })
    results.append(try await measure("decode (message event, own layout)", operations: count) {
        for _ in 0..<count { _ = try BinaryDecoder().decode(ChannelEvent.self, from: bytes) }
    })
    results.append(try await measure("encode (channel info and 10 members, Codable)", operations: count) {
        for _ in 0..<count { _ = try BinaryEncoder().encode(channel) }
    })
    results.append(try await measure("decode (channel info and 10 members, Codable)", operations: count) {
        for _ in 0..<count { _ = try BinaryDecoder().decode(ChannelWithMembers.self, from: channelBytes) }
    })
    print("\n## Binary coder (`coder`): a message event (\(bytes.count) bytes), a channel (\(channelBytes.count) bytes)\n")
    print("| benchmark | operations | CPU µs/op |")
    print("| --- | ---: | ---: |")
    for result in results {
        print("| \(result.name) | \(result.operations) | \(String(format: "%.2f", result.cpuMicrosPerOperation)) |")
    }
}

/// A message send through an edge that does not own the channel, next to one through the owner
/// (two nodes in one process, in-memory journals, loopback TCP between them).
func edgeSendBenchmarks() async throws {
    let names = ["edge", "owner"]
    let ring = HashRing(nodes: names)
    var nodes: [ChatNode] = []
    var ports: [String: PeerAddress] = [:]
    for (index, name) in names.enumerated() {
        let system = ClusterActorSystem(nodeName: name)
        let member = ClusterMember(placement: ClusterPlacement(nodeName: name, ring: ring), actorSystem: system)
        let node = ChatNode(actorSystem: system, configuration: .init(snowflakeNode: UInt64(index + 1)), cluster: member.placement)
        member.start()
        node.startClusterServices(member: member)
        let port = try await system.startTransport(ClusterTransportConfiguration(cluster: "bench", secret: Array("s".utf8)), placement: member.placement)
        ports[name] = PeerAddress(host: "127.0.0.1", port: port)
        nodes.append(node)
    }
    for node in nodes { node.actorSystem.setPeers(ports) }
    let (edge, owner) = (nodes[0], nodes[1])
    // 64 users, each with a room owned by the owner node.
    var rooms: [(UserID, ChannelID)] = []
    var index = 0
    while rooms.count < 64 {
        let user = UserID("sender\(index)")!
        index += 1
        _ = try await edge.ensureUser(user, displayName: user.rawValue)
        let info = try await edge.createChannel(kind: .room, name: "bench", owner: user)
        if ring.owner(of: ChannelActor.identity(of: info.id).description) == "owner" { rooms.append((user, info.id)) }
    }
    let frozen = rooms
    let draft = MessageDraft(body: String(repeating: "x", count: 64))
    var results: [Result] = []
    for (label, node) in [("through the owner", owner), ("through a non-owner edge", edge)] {
        results.append(try await measure("send \(label), sequential", operations: 5_000) {
            let (user, room) = frozen[0]
            for _ in 0..<5_000 { _ = try await node.withChannel(room) { try await $0.send(draft, from: user, senderName: "bench") } }
        })
        results.append(try await measure("send \(label), 64 senders on 64 rooms", operations: 64_000) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (user, room) in frozen {
                    group.addTask { for _ in 0..<1_000 { _ = try await node.withChannel(room) { try await $0.send(draft, from: user, senderName: "bench") } } }
                }
                try await group.waitForAll()
            }
        })
    }
    print("\n## Message send through the owner vs a non-owner edge (`remote`)\n")
    print("| benchmark | sends | sends/s (wall) | CPU µs/send (both nodes) |")
    print("| --- | ---: | ---: | ---: |")
    for result in results {
        print("| \(result.name) | \(result.operations) | \(Int(result.perSecond)) | \(String(format: "%.2f", result.cpuMicrosPerOperation)) |")
    }
    for node in nodes { await node.actorSystem.shutdownTransport() }
}
