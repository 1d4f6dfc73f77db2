import ChorusActorSystem
import Foundation
import ChorusModel
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

/// Remote calls between two actor systems over loopback TCP, next to a local call.
func remoteCallBenchmarks() async throws {
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

    var results: [Result] = []
    results.append(try await measure("local call (echo Int)", operations: 200_000) {
        for i in 0..<200_000 { _ = try await local.echo(i) }
    })
    results.append(try await measure("remote call, sequential (echo Int)", operations: 20_000) {
        for i in 0..<20_000 { _ = try await remote.echo(i) }
    })
    results.append(try await measure("remote call, 64 concurrent callers (echo Int)", operations: 100_000) {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<64 {
                group.addTask { for i in 0..<(100_000 / 64) { _ = try await remote.echo(i) } }
            }
            try await group.waitForAll()
        }
    })
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
    print("\n## Remote calls (`remote`): two actor systems over loopback TCP\n")
    print("| benchmark | calls | calls/s (wall) | CPU µs/call (both nodes) |")
    print("| --- | ---: | ---: | ---: |")
    for result in results {
        print("| \(result.name) | \(result.operations) | \(Int(result.perSecond)) | \(String(format: "%.2f", result.cpuMicrosPerOperation)) |")
    }
    await a.shutdownTransport()
    await b.shutdownTransport()
    withExtendedLifetime(local) {}
}
