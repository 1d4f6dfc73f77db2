import ChorusWire

/// Runs one inbound call from `peer`; `reply` sends its answer back.
public typealias ClusterCallHandler = @Sendable (_ call: Wire.Call, _ from: String, _ reply: @escaping @Sendable (Wire.Reply) -> Void) -> Void

/// How a node's ``ClusterActorSystem`` exchanges calls with its peers: TCP between processes
/// (``ClusterActorSystem/startTransport(_:placement:)``), or an ``InProcessNetwork`` between
/// actor systems in one process (tests, with faults injected).
///
/// A transport delivers one caller's calls to one peer in the order they were made, fails a
/// call that has no reply by its deadline with `timeout`, and fails the calls of a peer it loses
/// with `unreachable`.
public protocol ClusterTransport: AnyObject, Sendable {
    /// Starts serving: peers' calls go to `onCall`, in the order they arrive, on the transport's
    /// thread (a TCP connection's event loop), so `onCall` must not block.
    func start(onCall: @escaping ClusterCallHandler) async throws
    /// Sends the call `makeCall` builds (given a fresh call id) to `peer` and waits for its reply
    /// until `timeout` passes. `target` names the call in errors.
    func call(_ peer: String, target: String, timeout: Duration, _ makeCall: (UInt64) -> Wire.Call) async throws -> Wire.Reply.Result
    /// Sends the one-way call `makeCall` builds (given ``Wire/Call/oneWayID``) to `peer`, in order
    /// with this node's other calls to it, and returns once it is on its way: no reply comes, and
    /// a call lost with its connection is not reported. Throws `unreachable` when `peer` cannot
    /// be reached within `timeout`.
    func send(_ peer: String, target: String, timeout: Duration, _ makeCall: (UInt64) -> Wire.Call) async throws
    /// Stops serving and fails every waiting call with `unreachable`.
    func shutdown() async
    /// How long a call waits for its reply unless the caller says otherwise.
    var defaultCallTimeout: Duration { get }
    /// The peers this node can reach now.
    var connectedPeers: [String] { get }
    /// How long ago anything last arrived from `peer` on any connection (keepalives included);
    /// `nil` when nothing did or the transport does not tell. The failure detector counts it as
    /// hearing from the peer, so a peer whose actors are too busy to answer a heartbeat in time
    /// is not taken for dead while its node still answers.
    func silence(from peer: String) -> Duration?
    /// Stops (`false`) or resumes sending and answering keepalives; a drill's partition stops
    /// them, else its peers would still hear the cut-off node (``FaultInjectingTransport``).
    func setKeepalives(_ enabled: Bool)
}

extension ClusterTransport {
    public func silence(from peer: String) -> Duration? { nil }
    public func setKeepalives(_ enabled: Bool) {}
}
