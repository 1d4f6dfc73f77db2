import ChorusActorSystem
import ChorusModel
import ChorusTestSupport
import Distributed
import Synchronization
import Testing

/// An error type registered with the actor systems: it crosses the wire as itself.
struct EchoError: WireTransmittableError, Equatable {
    static let wireDomain = "echo"
    var reason: String
}

/// Encodes, but never decodes: an argument the callee cannot read. (It has a stored property: the
/// runtime does not decode an argument of an empty type at all.)
struct Undecodable: Codable, Sendable {
    var text = "abc"
    init() {}
    init(from decoder: any Decoder) throws { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "refused on purpose")) }
    func encode(to encoder: any Encoder) throws { var container = encoder.singleValueContainer(); try container.encode(0) }
}

/// Calls to ``Echo/held(_:)`` waiting for the test to release them, oldest first.
final class HeldCalls: Sendable {
    private let waiting = Mutex<[CheckedContinuation<Void, Never>]>([])

    func add(_ continuation: CheckedContinuation<Void, Never>) {
        waiting.withLock { $0.append(continuation) }
    }

    var count: Int { waiting.withLock { $0.count } }

    /// Lets the oldest waiting call return.
    func releaseOldest() {
        waiting.withLock { $0.isEmpty ? nil : $0.removeFirst() }?.resume()
    }
}

let heldCalls = HeldCalls()

/// Counts its live instances (on both nodes: they share the test process), to check that what a
/// remote call returns is freed once the reply is sent.
final class Tracked: Codable, Sendable {
    static let alive = Atomic<Int>(0)

    init() { Self.alive.add(1, ordering: .relaxed) }

    init(from decoder: any Decoder) throws {
        _ = try decoder.singleValueContainer().decode(Int.self)
        Self.alive.add(1, ordering: .relaxed)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(1)
    }

    deinit { Self.alive.subtract(1, ordering: .relaxed) }
}

/// A test actor with calls of every shape.
distributed actor Echo {
    typealias ActorSystem = ClusterActorSystem
    private var log: [Int] = []

    distributed func echo(_ text: String) -> String { "echo: \(text)" }

    distributed func event(_ event: ChannelEvent) -> ChannelEvent { event }

    distributed func append(_ value: Int) { log.append(value) }

    distributed func appended() -> [Int] { log }

    distributed func fail() throws -> Int { throw EchoError(reason: "not a member of channel 7") }

    distributed func crash() throws { throw CancellationError() }

    distributed func join(_ text: String, _ count: Int, _ parts: [String], _ event: ChannelEvent?) -> String {
        "\(text) \(count) \(parts.joined(separator: "+")) \(event?.seq ?? 0)"
    }

    /// Generic: runs through the standard library's `executeDistributedTarget`, not a remembered signature.
    distributed func twice<Value: Codable & Sendable>(_ value: Value) -> [Value] { [value, value] }

    distributed func take(_ value: Undecodable) -> Int { value.text.count }

    distributed func tracked() -> Tracked { Tracked() }

    /// Returns `value` once the test releases it (``heldCalls``).
    distributed func held(_ value: Int) async -> Int {
        await withCheckedContinuation { heldCalls.add($0) }
        return value
    }

    /// Returns nothing once the test releases it (``heldCalls``).
    distributed func hold() async {
        await withCheckedContinuation { heldCalls.add($0) }
    }

    /// Calls ``crash()`` on the echo with key `key` (on a peer), then records 1 if that failed
    /// and 0 if it returned.
    distributed func relayCrash(toKey key: String) async {
        do {
            try await Echo.resolve(id: ActorIdentity(kind: "echo", key: key), using: actorSystem).crash()
            log.append(0)
        } catch {
            log.append(1)
        }
    }

    /// Records -1, then takes 30 s.
    distributed func slow() async throws -> Int {
        log.append(-1)
        try await Task.sleep(for: .seconds(30))
        return 1
    }
}

/// Places each id on a fixed node.
final class StaticPlacement: ActorPlacement {
    let node: String
    let owners: Mutex<[ActorIdentity: String]>
    private struct WeakSystem { weak var system: ClusterActorSystem? }
    private let weakSystem = Mutex(WeakSystem())

    var system: ClusterActorSystem? {
        get { weakSystem.withLock { $0.system } }
        set { weakSystem.withLock { $0.system = newValue } }
    }

    init(node: String, owners: [ActorIdentity: String]) {
        self.node = node
        self.owners = Mutex(owners)
    }

    func remoteOwner(of id: ActorIdentity) -> String? {
        let owner = owners.withLock { $0[id] }
        return owner == node ? nil : owner
    }

    var epoch: UInt64 { 1 }

    func withLocalActor(for id: ActorIdentity, callerEpoch: UInt64, _ body: (any DistributedActor) async throws -> Void) async throws {
        if let owner = remoteOwner(of: id) { throw RemoteCallError(.wrongOwner, "\(id) belongs to \(owner)", epoch: epoch) }
        guard let actor = system?.localActor(id) else { throw RemoteCallError(.actorNotFound, "no actor \(id) on \(node)") }
        try await body(actor)
    }
}

@Suite("Cluster transport", .serialized)
struct TransportTests {
    static let echoID = ActorIdentity(kind: "echo", key: "1")
    static let ghostID = ActorIdentity(kind: "echo", key: "ghost")
    static let secret = Array("cluster-secret".utf8)

    /// Node `a` calling node `b`, which hosts `echo/1`: `body` gets both systems, the local actor
    /// on `b` and `a`'s proxy of it. Both transports are shut down afterwards, even when it throws.
    func withPair(
        clock: TransportClock = .continuous, keepalive: Duration = .milliseconds(100), _ body: (ClusterActorSystem, ClusterActorSystem, Echo, Echo) async throws -> Void
    ) async throws {
        let (a, _) = try await node("a", clock: clock, keepalive: keepalive)
        let (b, portB) = try await node("b", clock: clock, keepalive: keepalive)
        try await stopping([a, b]) {
            a.setPeers(["b": PeerAddress(host: "127.0.0.1", port: portB)])
            let local = b.withIdentity(Self.echoID) { Echo(actorSystem: b) }
            try await body(a, b, local, try Echo.resolve(id: Self.echoID, using: a))
        }
    }

    /// Runs `body`, then shuts `systems`' transports down (also when it throws).
    func stopping(_ systems: [ClusterActorSystem], _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            for system in systems { await system.shutdownTransport() }
            throw error
        }
        for system in systems { await system.shutdownTransport() }
    }

    /// A node with a transport, placing `echo/1` on node `b`.
    func node(
        _ name: String, secret: [UInt8] = secret, cluster: String = "test", timeout: Duration = .seconds(300), clock: TransportClock = .continuous,
        keepalive: Duration = .milliseconds(100)
    ) async throws -> (ClusterActorSystem, Int) {
        let system = ClusterActorSystem(nodeName: name)
        system.register(errorType: EchoError.self)
        let placement = StaticPlacement(node: name, owners: [Self.echoID: "b", Self.ghostID: "b"])
        placement.system = system
        let port = try await system.startTransport(
            ClusterTransportConfiguration(
                cluster: cluster, secret: secret, callTimeout: timeout, keepaliveInterval: keepalive, initialBackoff: .milliseconds(50),
                maxBackoff: .milliseconds(200), clock: clock),
            placement: placement)
        return (system, port)
    }

    @Test("keepalives: with no call for a long while, each side still hears the other (pings answered below the actors)")
    func keepalive() async throws {
        let now = Mutex(Duration.seconds(1))
        let clock = TransportClock(now: { now.withLock { $0 } }, sleepUntil: { _ in try await Task.sleep(for: .milliseconds(1)) })
        try await withPair(clock: clock) { a, b, _, remote in
            #expect(a.silence(from: "b") == nil, "nothing heard before the first connection")
            _ = try await remote.echo("open")
            try await eventually("b hears a") { b.silence(from: "a") != nil }
            // Ten seconds on the transports' clock and no call: only keepalives can make the
            // silence short again.
            now.withLock { $0 += .seconds(10) }
            try await eventually("a hears b's pong") { a.silence(from: "b").map { $0 < .seconds(1) } ?? false }
            try await eventually("b hears a's ping") { b.silence(from: "a").map { $0 < .seconds(1) } ?? false }
            #expect(a.silence(from: "nobody") == nil)
        }
    }

    @Test("calls cross the wire: values, void, typed errors, unknown actors; local calls stay local")
    func roundTrip() async throws {
        try await withPair { a, b, local, remote in
            #expect(__isRemoteActor(remote))
            #expect(try await remote.echo("hi") == "echo: hi")
            let event = ChannelEvent(
                channelID: ChannelID(rawValue: 7), seq: 3, createdAt: .seconds(1_800_000_000),
                payload: .reactionAdd(.init(messageID: MessageID(rawValue: 9), emote: AssetID("wave")!, userID: UserID("bob")!)))
            #expect(try await remote.event(event) == event)
            try await remote.append(5)
            #expect(try await local.appended() == [5])
            await #expect(throws: EchoError(reason: "not a member of channel 7")) { try await remote.fail() }
            do {
                try await remote.crash()
                Issue.record("should throw")
            } catch let error as RemoteCallError {
                #expect(error.code == .remoteFailure && error.message.contains("CancellationError"))
            }
            // An id the owner does not host.
            do {
                _ = try await Echo.resolve(id: Self.ghostID, using: a).echo("boo")
                Issue.record("should fail")
            } catch let error as RemoteCallError {
                #expect(error.code == .actorNotFound, "\(error)")
            }
            #expect(a.connectedPeers == ["b"])
            // A local call on the owner never touches the network.
            #expect(try await Echo.resolve(id: Self.echoID, using: b).echo("local") == "echo: local")
            #expect(b.connectedPeers == [])
            withExtendedLifetime(local) {}
        }
    }

    @Test("every shape of target runs the same on its first call and on later ones (remembered signatures); generic targets too")
    func targetShapes() async throws {
        try await withPair { _, _, local, remote in
            let event = ChannelEvent(
                channelID: ChannelID(rawValue: 7), seq: 3, createdAt: .seconds(1_800_000_000),
                payload: .reactionAdd(.init(messageID: MessageID(rawValue: 9), emote: AssetID("wave")!, userID: UserID("bob")!)))
            for round in 0..<3 {
                #expect(try await remote.join("r\(round)", round, ["x", "y"], event) == "r\(round) \(round) x+y 3")
                #expect(try await remote.join("", -round, [], nil) == " \(-round)  0")
                #expect(try await remote.twice(round) == [round, round])
                #expect(try await remote.twice("s\(round)") == ["s\(round)", "s\(round)"])
                #expect(try await remote.twice(event) == [event, event])
                try await remote.append(round)
                await #expect(throws: EchoError(reason: "not a member of channel 7")) { try await remote.fail() }
                // An argument the callee cannot decode fails the call with the reason; the actor lives on.
                do {
                    let got = try await remote.take(Undecodable())
                    Issue.record("should throw, got \(got)")
                } catch let error as RemoteCallError {
                    #expect(error.code == .remoteFailure && error.message.contains("refused on purpose"), "\(error)")
                }
            }
            #expect(try await local.appended() == [0, 1, 2])
            withExtendedLifetime(local) {}
        }
    }

    @Test("one-way calls return once sent, while the callee still runs them; they run in order with calls; the callee's errors are not reported; they are counted apart from calls")
    func oneWay() async throws {
        try await withPair { a, _, local, remote in
            _ = try await remote.echo("open")
            let before = a.callStats.totals
            let returned = Atomic(false)
            let sent = Task {
                try await ClusterActorSystem.$oneWay.withValue(true) { try await remote.hold() }
                returned.store(true, ordering: .releasing)
            }
            try await eventually("the one-way call returned while its callee waits") { returned.load(ordering: .acquiring) && heldCalls.count == 1 }
            heldCalls.releaseOldest()
            try await sent.value
            try await ClusterActorSystem.$oneWay.withValue(true) {
                for i in 0..<100 { try await remote.append(i) }
                try await remote.crash()
            }
            // A call after them, on the same connection, runs after them.
            #expect(try await remote.appended() == Array(0..<100))
            let after = a.callStats.totals
            #expect(after.oneWay - before.oneWay == 102)
            #expect(after.calls - before.calls == 1 && after.failures == before.failures)
            withExtendedLifetime(local) {}
        }
    }

    @Test("calls one caller sends to one actor in order run in that order")
    func ordering() async throws {
        try await withPair { a, b, local, remote in
            _ = try await remote.echo("warm up")
            let tasks = (0..<2000).map { i in Task.immediate { try await remote.append(i) } }
            for task in tasks { try await task.value }
            #expect(try await local.appended() == Array(0..<2000))
        }
    }

    @Test("a peer with the wrong cluster secret or name is refused")
    func refused() async throws {
        let (b, portB) = try await node("b")
        let (intruder, _) = try await node("a", secret: Array("guess".utf8))
        let (stranger, _) = try await node("a", cluster: "other-cluster")
        try await stopping([b, intruder, stranger]) {
            let local = b.withIdentity(Self.echoID) { Echo(actorSystem: b) }
            for caller in [intruder, stranger] {
                caller.setPeers(["b": PeerAddress(host: "127.0.0.1", port: portB)])
                do {
                    _ = try await Echo.resolve(id: Self.echoID, using: caller).echo("let me in")
                    Issue.record("the call should be refused")
                } catch let error as RemoteCallError {
                    #expect(error.code == .refused, "\(error)")
                }
            }
            #expect(try await local.appended() == [])
        }
    }

    @Test("an unreachable or killed peer fails calls fast instead of hanging; the caller reconnects after a backoff")
    func unreachable() async throws {
        let (a, _) = try await node("a", timeout: .seconds(60))
        let (b, portB) = try await node("b")
        try await stopping([a, b]) {
            // Nobody listens at this address: refused at once, then backing off.
            let (probe, deadPort) = try await node("dead")
            await probe.shutdownTransport()
            a.setPeers(["b": PeerAddress(host: "127.0.0.1", port: deadPort)])
            let remote = try Echo.resolve(id: Self.echoID, using: a)
            var errors: [RemoteCallError] = []
            let started = ContinuousClock.now
            for _ in 0..<3 {
                do {
                    _ = try await remote.echo("anyone?")
                    Issue.record("should fail")
                } catch let error as RemoteCallError {
                    errors.append(error)
                }
            }
            // Each call fails after at most a backoff (≤ 200 ms here), far from the 60 s deadline.
            #expect(errors.map(\.code) == [.unreachable, .unreachable, .unreachable])
            #expect(ContinuousClock.now - started < .seconds(10))
            // Once the peer is back (at its new address), calls get through again after the backoff.
            a.setPeers(["b": PeerAddress(host: "127.0.0.1", port: portB)])
            let local = b.withIdentity(Self.echoID) { Echo(actorSystem: b) }
            let deadline = ContinuousClock.now + .seconds(10)
            while (try? await remote.echo("up")) != "echo: up" {
                guard ContinuousClock.now < deadline else { throw RemoteCallError(.unreachable, "never reconnected") }
                try await Task.sleep(for: .milliseconds(10))
            }
            // A peer that dies with a call in flight: the call fails with `unreachable` (not after the 60 s deadline).
            let pending = Task { try await remote.slow() }
            while try await local.appended() != [-1] { try await Task.sleep(for: .milliseconds(2)) }
            await b.shutdownTransport()
            do {
                _ = try await pending.value
                Issue.record("should fail")
            } catch let error as RemoteCallError {
                #expect(error.code == .unreachable, "\(error)")
            }
            withExtendedLifetime(local) {}
        }
    }

    @Test("a call past its deadline fails with timeout")
    func deadline() async throws {
        try await withPair { a, b, local, remote in
            do {
                _ = try await ClusterActorSystem.$callTimeout.withValue(.milliseconds(200)) { try await remote.slow() }
                Issue.record("should time out")
            } catch let error as RemoteCallError {
                #expect(error.code == .timeout, "\(error)")
            }
            // The connection is still good.
            #expect(try await remote.echo("still here") == "echo: still here")
            withExtendedLifetime(local) {}
        }
    }

    @Test("a call's deadline is kept when it comes long before the next keepalive: the connection's sweep moves earlier for it")
    func deadlineBeforeKeepalive() async throws {
        try await withPair(keepalive: .seconds(60)) { _, _, local, remote in
            _ = try await remote.echo("open")
            let failed = Atomic(false)
            let call = Task {
                do {
                    _ = try await ClusterActorSystem.$callTimeout.withValue(.milliseconds(200)) { try await remote.slow() }
                } catch let error as RemoteCallError where error.code == .timeout {
                    failed.store(true, ordering: .releasing)
                }
            }
            // Without the earlier sweep, the call would wait for the next keepalive, a minute away.
            try await eventually("the call timed out", timeout: .seconds(20)) { failed.load(ordering: .acquiring) }
            call.cancel()
            withExtendedLifetime(local) {}
        }
    }

    @Test("64 concurrent callers share one connection")
    func concurrentCallers() async throws {
        try await withPair { a, b, local, remote in
            let replies = try await withThrowingTaskGroup(of: Int.self) { group in
                for caller in 0..<64 {
                    group.addTask {
                        for i in 0..<50 {
                            guard try await remote.echo("\(caller)-\(i)") == "echo: \(caller)-\(i)" else { return -1 }
                        }
                        return 50
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(replies == 64 * 50)
            withExtendedLifetime(local) {}
        }
    }
}
