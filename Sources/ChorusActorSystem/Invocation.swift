import ChorusWire
import Distributed

/// Records a distributed call: generic substitutions, arguments and the return type.
///
/// Each argument is encoded at once in Chorus's binary encoding, so the transport frames them
/// without knowing their types.
public struct ChorusInvocationEncoder: DistributedTargetInvocationEncoder {
    public typealias SerializationRequirement = any Codable

    /// Mangled names of the generic substitutions, in order.
    public private(set) var genericSubstitutions: [String] = []
    /// Each argument, encoded.
    public private(set) var arguments: [[UInt8]] = []
    /// The mangled name of the return type, if any.
    public private(set) var returnType: String?
    /// The mangled name of the error type, if any.
    public private(set) var errorType: String?

    public init() {}

    public mutating func recordGenericSubstitution<T>(_ type: T.Type) throws {
        guard let name = _mangledTypeName(type) else {
            throw RemoteCallError(.serialization, "cannot mangle generic substitution \(type)")
        }
        genericSubstitutions.append(name)
    }

    public mutating func recordArgument<Value: Codable>(_ argument: RemoteCallArgument<Value>) throws {
        arguments.append(try BinaryEncoder().encode(argument.value))
    }

    public mutating func recordErrorType<E: Error>(_ type: E.Type) throws {
        errorType = _mangledTypeName(type)
    }

    public mutating func recordReturnType<R: Codable>(_ type: R.Type) throws {
        returnType = _mangledTypeName(type)
    }

    public mutating func doneRecording() throws {}
}

/// Reads back a call's arguments on the node that runs it.
public struct ChorusInvocationDecoder: DistributedTargetInvocationDecoder {
    public typealias SerializationRequirement = any Codable

    private let genericSubstitutions: [String]
    private let arguments: [[UInt8]]
    private var nextArgument = 0
    private let decoder: BinaryDecoder

    public init(genericSubstitutions: [String], arguments: [[UInt8]], system: ClusterActorSystem) {
        self.genericSubstitutions = genericSubstitutions
        self.arguments = arguments
        var decoder = BinaryDecoder()
        decoder.actorSystem = system
        self.decoder = decoder
    }

    public mutating func decodeGenericSubstitutions() throws -> [any Any.Type] {
        try genericSubstitutions.map { name in
            guard let type = _typeByName(name) else {
                throw RemoteCallError(.serialization, "unknown generic substitution \(name)")
            }
            return type
        }
    }

    public mutating func decodeNextArgument<Argument: Codable>() throws -> Argument {
        guard nextArgument < arguments.count else {
            throw RemoteCallError(.serialization, "call has only \(arguments.count) arguments")
        }
        defer { nextArgument += 1 }
        return try decoder.decode(Argument.self, from: arguments[nextArgument])
    }

    public mutating func decodeErrorType() throws -> (any Any.Type)? { nil }

    public mutating func decodeReturnType() throws -> (any Any.Type)? { nil }
}

/// Turns the outcome of running a distributed target into the reply the caller's node receives.
public struct ChorusResultHandler: DistributedTargetInvocationResultHandler {
    public typealias SerializationRequirement = any Codable

    private let deliver: @Sendable (Wire.Reply.Result) -> Void

    public init(deliver: @escaping @Sendable (Wire.Reply.Result) -> Void) {
        self.deliver = deliver
    }

    public func onReturn<Success: Codable>(value: Success) async throws {
        do {
            deliver(.value(try BinaryEncoder().encode(value)))
        } catch {
            deliver(.error(WireErrors.encode(RemoteCallError(.serialization, "cannot encode the result: \(error)"))))
        }
    }

    public func onReturnVoid() async throws {
        deliver(.void)
    }

    public func onThrow<Err: Error>(error: Err) async throws {
        deliver(.error(WireErrors.encode(error as any Error)))
    }
}

/// An error type whose values cross the wire with their type: a callee's `throw` of one
/// reaches the caller as the same value. Register the type with
/// ``ClusterActorSystem/register(errorType:)`` on every node; any other error reaches the caller
/// as a ``RemoteCallError/Code/remoteFailure`` that names it.
public protocol WireTransmittableError: Error, Codable, Sendable {
    /// Names the type on the wire; unique among the registered types.
    static var wireDomain: String { get }
}

extension WireTransmittableError {
    fileprivate static func decodeWire(_ payload: [UInt8]) throws -> any Error {
        try BinaryDecoder().decode(Self.self, from: payload)
    }
}

/// How errors cross the wire: the registered ``WireTransmittableError`` types (and
/// ``RemoteCallError``) keep their type.
struct WireErrors: Sendable {
    private static let remote = "remote"
    private var types: [String: any WireTransmittableError.Type] = [:]

    mutating func register(_ type: any WireTransmittableError.Type) {
        precondition(type.wireDomain != Self.remote, "the wire domain \(Self.remote) is the actor system's own")
        types[type.wireDomain] = type
    }

    static func encode(_ error: any Error) -> Wire.RemoteError {
        let encoder = BinaryEncoder()
        if let error = error as? any WireTransmittableError, let payload = try? encoder.encode(error) {
            return Wire.RemoteError(domain: type(of: error).wireDomain, payload: payload)
        }
        let remoteError = error as? RemoteCallError
            ?? RemoteCallError(.remoteFailure, "\(String(reflecting: type(of: error))): \(String(describing: error))")
        return Wire.RemoteError(domain: remote, payload: (try? encoder.encode(remoteError)) ?? [])
    }

    func decode(_ error: Wire.RemoteError) -> any Error {
        if error.domain == Self.remote, let remoteError = try? BinaryDecoder().decode(RemoteCallError.self, from: error.payload) {
            return remoteError
        }
        if let type = types[error.domain], let decoded = try? type.decodeWire(error.payload) { return decoded }
        return RemoteCallError(.serialization, "an error of unknown domain \(error.domain)")
    }
}
