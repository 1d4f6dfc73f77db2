import Distributed
import Logging
import Synchronization

/// Chorus's `DistributedActorSystem`: logical actor identities, activation hooks and the invocation model.
///
/// Actor ids are logical keys (``ActorIdentity``) chosen by the placement layer, not assigned by the
/// system: a placement layer creates an actor inside ``withIdentity(_:_:)``, and `assignID` picks the
/// id up from a task-local. The system keeps weak references for lookup; the placement layer keeps
/// activated actors alive until it passivates them.
///
/// This version is single-node: every actor is local and calls never leave the process. A remote
/// call (an id that no local actor has) fails with ``RemoteCallError/Code/actorNotFound``. The TCP
/// transport slots in behind ``remoteCall(on:target:invocation:throwing:returning:)``.
public final class ClusterActorSystem: DistributedActorSystem, Sendable {
    public typealias ActorID = ActorIdentity
    public typealias InvocationEncoder = ChorusInvocationEncoder
    public typealias InvocationDecoder = ChorusInvocationDecoder
    public typealias ResultHandler = ChorusResultHandler
    public typealias SerializationRequirement = any Codable

    @TaskLocal static var pendingIdentity: ActorIdentity?

    private struct WeakActor: Sendable {
        weak var actor: (any DistributedActor)?
    }

    private struct State {
        var actors: [ActorIdentity: WeakActor] = [:]
        var anonymousCounter: UInt64 = 0
    }

    private let state = Mutex(State())
    /// The node this system runs on, for logs.
    public let nodeName: String
    private let logger: Logger

    public init(nodeName: String = "local", logger: Logger = Logger(label: "chorus.actors")) {
        self.nodeName = nodeName
        self.logger = logger
    }

    /// Runs `make` so that the distributed actor it creates gets the identity `id`.
    ///
    /// - Precondition: no live actor has `id` (the placement layer activates each key once).
    public func withIdentity<Act: DistributedActor>(_ id: ActorIdentity, _ make: () throws -> Act) rethrows -> Act
    where Act.ID == ActorIdentity {
        try Self.$pendingIdentity.withValue(id) { try make() }
    }

    /// How many actors are live on this node.
    public var liveActorCount: Int {
        state.withLock { state in state.actors.values.count { $0.actor != nil } }
    }

    // MARK: DistributedActorSystem

    public func assignID<Act>(_ actorType: Act.Type) -> ActorIdentity where Act: DistributedActor, Act.ID == ActorIdentity {
        if let id = Self.pendingIdentity {
            return id
        }
        return state.withLock { state in
            state.anonymousCounter += 1
            return ActorIdentity(kind: "anonymous", key: "\(nodeName)-\(state.anonymousCounter)")
        }
    }

    public func actorReady<Act>(_ actor: Act) where Act: DistributedActor, Act.ID == ActorIdentity {
        state.withLock { state in
            if let existing = state.actors[actor.id]?.actor {
                preconditionFailure("actor \(actor.id) activated twice (existing: \(type(of: existing)))")
            }
            state.actors[actor.id] = WeakActor(actor: actor)
        }
    }

    public func resignID(_ id: ActorIdentity) {
        state.withLock { state in
            // Only forget the entry if it is dead: a new activation may already have taken the id.
            if state.actors[id]?.actor == nil {
                state.actors[id] = nil
            }
        }
    }

    public func resolve<Act>(id: ActorIdentity, as actorType: Act.Type) throws -> Act?
    where Act: DistributedActor, Act.ID == ActorIdentity {
        let found = state.withLock { $0.actors[id]?.actor }
        guard let found else {
            throw RemoteCallError(.actorNotFound, "no actor \(id) is active on node \(nodeName)")
        }
        guard let typed = found as? Act else {
            throw RemoteCallError(.actorNotFound, "actor \(id) is a \(type(of: found)), not a \(actorType)")
        }
        return typed
    }

    public func makeInvocationEncoder() -> ChorusInvocationEncoder {
        ChorusInvocationEncoder()
    }

    public func remoteCall<Act, Err, Res>(
        on actor: Act, target: RemoteCallTarget, invocation: inout ChorusInvocationEncoder,
        throwing: Err.Type, returning: Res.Type
    ) async throws -> Res where Act: DistributedActor, Act.ID == ActorIdentity, Err: Error, Res: Codable {
        throw RemoteCallError(.actorNotFound, "\(target) on \(actor.id): no transport to a remote node in single-node mode")
    }

    public func remoteCallVoid<Act, Err>(
        on actor: Act, target: RemoteCallTarget, invocation: inout ChorusInvocationEncoder, throwing: Err.Type
    ) async throws where Act: DistributedActor, Act.ID == ActorIdentity, Err: Error {
        throw RemoteCallError(.actorNotFound, "\(target) on \(actor.id): no transport to a remote node in single-node mode")
    }
}
