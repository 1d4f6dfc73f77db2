import ChorusWire
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Where a peer node listens for cluster connections.
public struct PeerAddress: Hashable, Sendable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// Settings of the cluster transport.
public struct ClusterTransportConfiguration: Sendable {
    /// Peers must name the same cluster.
    public var cluster: String
    /// The shared secret the handshake proves (never sent).
    public var secret: [UInt8]
    /// Where this node listens (port 0 picks a free one).
    public var host: String
    public var port: Int
    /// The other nodes, by name.
    public var peers: [String: PeerAddress]
    /// How long a caller waits for a reply by default.
    public var callTimeout: Duration
    /// How long dialling a peer (TCP connect plus handshake) may take.
    public var connectTimeout: Duration
    /// How often each connection sends a `ping` (its peer answers from its event loop).
    public var keepaliveInterval: Duration
    /// After a failed dial, calls to that peer fail at once for this long, doubling up to `maxBackoff`.
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    public var maxFrameBytes: Int
    /// The clock of call deadlines and dial backoff.
    public var clock: TransportClock

    public init(
        cluster: String, secret: [UInt8], host: String = "127.0.0.1", port: Int = 0, peers: [String: PeerAddress] = [:],
        callTimeout: Duration = .seconds(5), connectTimeout: Duration = .seconds(2), keepaliveInterval: Duration = .milliseconds(100),
        initialBackoff: Duration = .milliseconds(100), maxBackoff: Duration = .seconds(1), maxFrameBytes: Int = Wire.defaultMaxFrameBytes,
        clock: TransportClock = .continuous
    ) {
        self.cluster = cluster
        self.secret = secret
        self.host = host
        self.port = port
        self.peers = peers
        self.callTimeout = callTimeout
        self.connectTimeout = connectTimeout
        self.keepaliveInterval = keepaliveInterval
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxFrameBytes = maxFrameBytes
        self.clock = clock
    }
}

/// TCP connections between nodes: handshake, framing, batched writes, the call table with
/// deadlines (each a ``Connection``), and reconnects with backoff (``DialBackoff``).
///
/// Each node dials each peer once and sends its calls on that connection; it serves the calls of
/// a peer on the connection the peer dialled. Inbound calls are handed to `onCall` in the order
/// they arrive, and replies go back on the same connection.
public final class TCPTransport: ClusterTransport {
    public let node: String
    public let configuration: ClusterTransportConfiguration
    private let logger: Logger
    private let group: any EventLoopGroup

    private struct Outbound {
        var connection: Connection?
        /// The dial under way, shared by every caller that waits for it.
        var dial: Task<Connection, any Error>?
        var backoff: DialBackoff
    }

    private struct State {
        var outbound: [String: Outbound] = [:]
        var inbound: [ObjectIdentifier: Connection] = [:]
        var server: (any Channel)?
        var onCall: ClusterCallHandler?
        var closed = false
        var peers: [String: PeerAddress]
    }
    private let state: Mutex<State>
    private let keepalivesOn = KeepaliveSwitch()

    public init(node: String, configuration: ClusterTransportConfiguration, logger: Logger) {
        self.node = node
        self.configuration = configuration
        self.state = Mutex(State(peers: configuration.peers))
        self.logger = logger
        self.group = MultiThreadedEventLoopGroup.singleton
    }

    public var defaultCallTimeout: Duration { configuration.callTimeout }
    private var clock: TransportClock { configuration.clock }

    // MARK: Listening

    /// The port the listener is bound to (0 before ``start(onCall:)``).
    public var port: Int { state.withLock { $0.server?.localAddress?.port ?? 0 } }

    /// Binds the listener; inbound calls go to `onCall`.
    public func start(onCall: @escaping ClusterCallHandler) async throws {
        state.withLock { $0.onCall = onCall }
        let maxFrame = configuration.maxFrameBytes
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let connection = self.makeConnection(channel)
                    let key = ObjectIdentifier(connection)
                    let accepted = self.state.withLock { state -> Bool in
                        guard !state.closed else { return false }
                        state.inbound[key] = connection
                        return true
                    }
                    guard accepted else { throw RemoteCallError(.unreachable, "the transport is shut down") }
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionHandler(connection: connection, maxFrameBytes: maxFrame) { [weak self] in
                            _ = self?.state.withLock { $0.inbound.removeValue(forKey: key) }
                        })
                }
            }
            .bind(host: configuration.host, port: configuration.port).get()
        state.withLock { $0.server = server }
        logger.info("cluster transport listening", metadata: ["cluster.port": "\(port)", "cluster.node": "\(node)"])
    }

    private func makeConnection(_ channel: any Channel) -> Connection {
        Connection(channel: channel, handshake: makeHandshake(), clock: clock, keepalive: configuration.keepaliveInterval, keepalivesOn: keepalivesOn, logger: logger) {
            [weak self] call, peer, connection in
            guard let onCall = self?.state.withLock({ $0.onCall }) else { return }
            onCall(call, peer) { [weak connection] reply in connection?.send(.reply(reply)) }
        }
    }

    // MARK: Calling

    public func send(_ peer: String, target: String, timeout: Duration, _ makeCall: (UInt64) -> Wire.Call) async throws {
        let connection = try await self.connection(to: peer, budget: timeout)
        try connection.send(makeCall(Wire.Call.oneWayID))
    }

    /// Sends `call` to `peer` and waits for the reply (or the deadline).
    public func call(_ peer: String, target: String, timeout: Duration, _ makeCall: (UInt64) -> Wire.Call) async throws -> Wire.Reply.Result {
        let connection = try await self.connection(to: peer, budget: timeout)
        return try await connection.call(makeCall, target: target, timeout: timeout)
    }

    /// The established connection to `peer`, dialling (once, shared by concurrent callers) if
    /// needed; ``DialBackoff`` decides when to dial and how long a caller waits for a backed-off peer.
    private func connection(to peer: String, budget: Duration) async throws -> Connection {
        // The common case returns without suspending, so calls leave in the order they are made.
        if let open = state.withLock({ $0.outbound[peer]?.connection }), open.isOpen { return open }
        enum Next {
            case use(Connection)
            case dial(Task<Connection, any Error>, PeerAddress)
            case wait(Duration)
        }
        let started = clock.now()
        while true {
            let now = clock.now()
            let next = try state.withLock { state -> Next in
                guard let address = state.peers[peer] else {
                    throw RemoteCallError(.unreachable, "no address for node \(peer) in the cluster configuration")
                }
                if state.closed { throw RemoteCallError(.unreachable, "the transport is shut down") }
                var slot = state.outbound[peer] ?? Outbound(backoff: DialBackoff(initial: configuration.initialBackoff, maximum: configuration.maxBackoff))
                defer { state.outbound[peer] = slot }
                if let connection = slot.connection, connection.isOpen { return .use(connection) }
                switch slot.backoff.connectionNeeded(now: now, started: started, budget: budget) {
                case .wait(let until):
                    return .wait(until)
                case .fail:
                    throw RemoteCallError(.unreachable, "node \(peer) is unreachable (retrying after a backoff)")
                case .join:
                    // `dial` is set whenever the backoff says a dial is under way.
                    if let dial = slot.dial { return .dial(dial, address) }
                    fallthrough
                case .dial:
                    let task = Task { try await self.dial(peer, at: address) }
                    slot.dial = task
                    slot.connection = nil
                    return .dial(task, address)
                }
            }
            switch next {
            case .use(let connection):
                return connection
            case .wait(let instant):
                try await clock.sleepUntil(instant)
            case .dial(let dial, let address):
                return try await finishDial(dial, to: peer, at: address)
            }
        }
    }

    private func finishDial(_ dial: Task<Connection, any Error>, to peer: String, at address: PeerAddress) async throws -> Connection {
        do {
            let connection = try await dial.value
            let closed = state.withLock { state -> Bool in
                if state.closed { return true }
                // Only the first of the callers that shared this dial records its outcome.
                guard state.outbound[peer]?.dial == dial else { return false }
                state.outbound[peer]?.dial = nil
                state.outbound[peer]?.connection = connection
                state.outbound[peer]?.backoff.dialSucceeded()
                return false
            }
            if closed {
                // The transport shut down while this dial ran: nobody would close it later.
                connection.close()
                throw RemoteCallError(.unreachable, "the transport is shut down")
            }
            return connection
        } catch {
            state.withLock { state in
                guard state.outbound[peer]?.dial == dial else { return }
                state.outbound[peer]?.dial = nil
                state.outbound[peer]?.backoff.dialFailed(now: clock.now())
            }
            if let error = error as? RemoteCallError { throw error }
            throw RemoteCallError(.unreachable, "cannot connect to node \(peer) at \(address.host):\(address.port): \(error)")
        }
    }

    private func dial(_ peer: String, at address: PeerAddress) async throws -> Connection {
        let maxFrame = configuration.maxFrameBytes
        let connectionBox = Mutex<Connection?>(nil)
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let connection = self.makeConnection(channel)
                    connectionBox.withLock { $0 = connection }
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(connection: connection, maxFrameBytes: maxFrame))
                }
            }
            .connect(host: address.host, port: address.port).get()
        guard let connection = connectionBox.withLock({ $0 }) else {
            channel.close(promise: nil)
            throw RemoteCallError(.unreachable, "the connection to \(peer) was not set up")
        }
        try await connection.waitEstablished(timeout: configuration.connectTimeout)
        return connection
    }

    // MARK: Closing

    /// Closes the listener and every connection; pending calls fail with `unreachable`.
    public func shutdown() async {
        let (server, connections) = state.withLock { state -> ((any Channel)?, [Connection]) in
            state.closed = true
            let connections = state.outbound.values.compactMap(\.connection) + Array(state.inbound.values)
            return (state.server, connections)
        }
        try? await server?.close()
        for connection in connections { connection.close() }
    }

    /// Replaces the peer addresses (a peer that moved is dialled at its new address next time).
    public func setPeers(_ peers: [String: PeerAddress]) {
        state.withLock { $0.peers = peers }
    }

    public func silence(from peer: String) -> Duration? {
        let connections = state.withLock { state in Array(state.inbound.values) + state.outbound.values.compactMap(\.connection) }
        let last = connections.compactMap { connection in connection.heard.flatMap { $0.peer == peer ? $0.at : nil } }.max()
        return last.map { clock.now() - $0 }
    }

    public func setKeepalives(_ enabled: Bool) { keepalivesOn.enabled = enabled }

    /// The peers this node has an open outbound connection to.
    public var connectedPeers: [String] {
        state.withLock { state in state.outbound.filter { $0.value.connection?.isOpen == true }.map(\.key).sorted() }
    }

    private func makeHandshake() -> Handshake {
        Handshake(cluster: configuration.cluster, node: node, secret: configuration.secret, nonce: Handshake.randomNonce())
    }
}
