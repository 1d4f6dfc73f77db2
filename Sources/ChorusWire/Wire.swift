/// The messages nodes exchange over the cluster transport, apart from their encoding.
///
/// A connection starts with a mutual handshake (``Handshake``): each side sends `hello` (cluster
/// name, protocol version, node name, a random nonce) and answers the other's nonce with a `proof`,
/// an HMAC keyed by the shared cluster secret, which never crosses the wire. Then either side sends
/// `call`s and answers them with `reply`s matched by call id. (Membership's heartbeats are calls
/// too: to the peer's node actor.) Every connection also sends a `ping` each keepalive interval,
/// which the other side answers with a `pong` straight from its event loop: a peer whose
/// connection carries any frame is alive, however busy its actors are.
public enum Wire {
    /// The version of this protocol; peers must speak the same (a peer of another version is
    /// refused at the handshake). 2: the cluster layer's calls go to `clusternode/<name>` actors,
    /// and node reports count actors by kind. 3: `ping` and `pong`. 4: replication messages carry
    /// lineages. 5: events to a remote edge travel in their own binary layout (``BinaryRepresentable``).
    /// 6: so do messages, drafts and records, also nested in other values (``BinaryValue/bytes(_:)``).
    /// 7: so do replication messages (a `replicate` call's batch), heartbeats' node reports, a
    /// forwarded send's result and user profiles. 8: a channel's state (hand-offs, replicas'
    /// installs) carries its recent client message ids as one packed string. 9: a heartbeat's
    /// node report carries the metadata-log term its node leads.
    public static let protocolVersion: UInt16 = 9

    /// Default largest frame (16 MiB).
    public static let defaultMaxFrameBytes = 16 << 20

    public enum Envelope: Equatable, Sendable {
        case hello(Hello)
        case proof([UInt8])
        case welcome
        case refused(String)
        case call(Call)
        case reply(Reply)
        /// Keepalive: answered with `pong` at once, below the actors.
        case ping
        case pong
    }

    public struct Hello: Equatable, Sendable {
        public var cluster: String
        public var version: UInt16
        public var node: String
        public var nonce: [UInt8]

        public init(cluster: String, version: UInt16 = Wire.protocolVersion, node: String, nonce: [UInt8]) {
            self.cluster = cluster
            self.version = version
            self.node = node
            self.nonce = nonce
        }
    }

    /// One remote invocation of a distributed function.
    public struct Call: Equatable, Sendable {
        /// Unique per connection and direction; the reply carries it back. 0: a one-way call,
        /// answered by nothing (``wantsReply``); calls that wait for a reply count from 1.
        public var id: UInt64
        /// The actor's identity (`kind/key`).
        public var recipientKind: String
        public var recipientKey: String
        /// The mangled name of the distributed function.
        public var target: String
        public var genericSubstitutions: [String]
        /// Each argument in the binary encoding.
        public var arguments: [[UInt8]]
        /// How long the caller waits, in milliseconds (the callee may drop work past it).
        public var timeoutMilliseconds: UInt64
        /// The caller's ring epoch; the callee answers `wrongOwner` if it knows a newer ring.
        public var epoch: UInt64

        public init(
            id: UInt64, recipientKind: String, recipientKey: String, target: String, genericSubstitutions: [String] = [],
            arguments: [[UInt8]], timeoutMilliseconds: UInt64, epoch: UInt64
        ) {
            self.id = id
            self.recipientKind = recipientKind
            self.recipientKey = recipientKey
            self.target = target
            self.genericSubstitutions = genericSubstitutions
            self.arguments = arguments
            self.timeoutMilliseconds = timeoutMilliseconds
            self.epoch = epoch
        }

        /// Whether the caller waits for a reply: not for a one-way call (id 0).
        public var wantsReply: Bool { id != Self.oneWayID }

        /// The id of every one-way call.
        public static let oneWayID: UInt64 = 0
    }

    public struct Reply: Equatable, Sendable {
        public enum Result: Equatable, Sendable {
            /// The return value in the binary encoding.
            case value([UInt8])
            case void
            /// The callee threw: a typed error when both sides know the type.
            case error(RemoteError)
        }
        public var id: UInt64
        public var result: Result

        public init(id: UInt64, result: Result) {
            self.id = id
            self.result = result
        }
    }

    /// An error thrown by a remote callee, as it crosses the wire.
    public struct RemoteError: Equatable, Sendable {
        /// Which error type `payload` holds (e.g. `chat`, `remote`), so the caller can rethrow it typed.
        public var domain: String
        /// The error in the binary encoding.
        public var payload: [UInt8]

        public init(domain: String, payload: [UInt8]) {
            self.domain = domain
            self.payload = payload
        }
    }
}
