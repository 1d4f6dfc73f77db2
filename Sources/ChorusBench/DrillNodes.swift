import Foundation

extension Drill {
    /// The nodes a drill runs against, and how it hurts and heals them: processes it started itself
    /// (``SpawnedNodes``), or running nodes and the operator's commands (``CommandNodes``).
    public protocol Nodes: Sendable {
        /// Node names, in the order of `endpoints` (the names on the hash ring).
        var names: [String] { get }
        /// Each node's client address.
        var endpoints: [Endpoint] { get }
        /// The secret that signs the drill's tokens.
        var jwtSecret: String { get }
        /// Points per node on the hash ring (`cluster.virtual_nodes`), to tell which node owns a channel.
        var virtualNodes: Int { get }
        /// Why these nodes cannot take `fault`; nil if they can.
        func refusal(of fault: Fault) -> String?
        /// SIGKILL (or the kill command); returns once the node is gone.
        func killNode(_ node: Int) async throws
        /// SIGSTOP and SIGCONT.
        func pauseNode(_ node: Int) async throws
        func resumeNode(_ node: Int) async throws
        /// Starts a killed node again on its data directory; returns once it has started (it may not serve yet).
        func restartNode(_ node: Int) async throws
        /// Stops what the drill started and removes its scratch files.
        func stop() async
        /// The same, synchronously, for a signal handler.
        func stopNow()
        /// The last lines each node logged, for error messages (empty if the drill cannot see them).
        var logTail: String { get }
    }
}
