import Crypto

/// The mutual handshake that opens every cluster connection: a pure state machine.
///
/// Both sides send `hello` with a fresh random nonce. Each answers the other's hello with a
/// `proof`: HMAC-SHA256, keyed by the shared cluster secret, over the peer's nonce, its own node
/// name and the cluster name. A side that verifies the peer's proof sends `welcome`; the
/// connection is established once a side has both verified the peer and been welcomed. The secret
/// never crosses the wire, a recorded proof is useless against a new nonce, and a peer with the
/// wrong cluster name, protocol version or secret is refused with a reason.
public struct Handshake: Sendable {
    /// What the connection should do after a step.
    public struct Step: Equatable, Sendable {
        /// Envelopes to send, in order.
        public var send: [Wire.Envelope]
        public var state: State
    }

    public enum State: Equatable, Sendable {
        case pending
        /// Both sides proved the secret; `peer` is the other node's name.
        case established(peer: String)
        /// Refused (by us or by the peer); close the connection.
        case failed(String)
    }

    public let cluster: String
    public let node: String
    private let key: SymmetricKey
    private let nonce: [UInt8]
    private var peer: Wire.Hello?
    private var peerVerified = false
    private var welcomed = false
    private(set) var state: State = .pending

    public init(cluster: String, node: String, secret: [UInt8], nonce: [UInt8]) {
        self.cluster = cluster
        self.node = node
        self.key = SymmetricKey(data: secret)
        self.nonce = nonce
    }

    /// A fresh random 32-byte nonce.
    public static func randomNonce() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// The first envelope to send.
    public var hello: Wire.Envelope {
        .hello(Wire.Hello(cluster: cluster, node: node, nonce: nonce))
    }

    private func mac(nonce: [UInt8], node: String) -> [UInt8] {
        var message = Array("chorus-handshake/\(Wire.protocolVersion)/\(cluster)/\(node)/".utf8)
        message += nonce
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    /// Handles one envelope from the peer.
    public mutating func receive(_ envelope: Wire.Envelope) -> Step {
        guard state == .pending else { return Step(send: [], state: state) }
        switch envelope {
        case .hello(let hello):
            guard peer == nil else { return fail("a second hello") }
            guard hello.cluster == cluster else { return fail("wrong cluster: \(hello.cluster), expected \(cluster)") }
            guard hello.version == Wire.protocolVersion else {
                return fail("protocol version \(hello.version), this node speaks \(Wire.protocolVersion)")
            }
            guard hello.nonce.count >= 16 else { return fail("nonce too short") }
            peer = hello
            return Step(send: [.proof(mac(nonce: hello.nonce, node: node))], state: state)
        case .proof(let proof):
            guard let peer else { return fail("a proof before hello") }
            let expected = mac(nonce: nonce, node: peer.node)
            // Compare in constant time.
            guard proof.count == expected.count, zip(proof, expected).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
                return fail("wrong cluster secret from \(peer.node)")
            }
            peerVerified = true
            return advance(sending: [.welcome])
        case .welcome:
            guard peer != nil else { return fail("a welcome before hello") }
            welcomed = true
            return advance(sending: [])
        case .refused(let reason):
            state = .failed("refused by peer: \(reason)")
            return Step(send: [], state: state)
        case .call, .reply, .ping, .pong:
            return fail("a message before the handshake completed")
        }
    }

    private mutating func advance(sending: [Wire.Envelope]) -> Step {
        if peerVerified && welcomed, let peer { state = .established(peer: peer.node) }
        return Step(send: sending, state: state)
    }

    private mutating func fail(_ reason: String) -> Step {
        state = .failed(reason)
        return Step(send: [.refused(reason)], state: state)
    }
}
