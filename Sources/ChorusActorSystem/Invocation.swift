import Distributed
import Foundation

/// Records a distributed call: target generic substitutions, arguments and the return type.
///
/// Arguments are held as encoded values so the transport can frame them without knowing their types.
public struct ChorusInvocationEncoder: DistributedTargetInvocationEncoder {
    public typealias SerializationRequirement = any Codable

    /// Mangled names of the generic substitutions, in order.
    public private(set) var genericSubstitutions: [String] = []
    /// Each argument, encoded.
    public private(set) var arguments: [Data] = []
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
        arguments.append(try JSONEncoder().encode(argument.value))
    }

    public mutating func recordErrorType<E: Error>(_ type: E.Type) throws {
        errorType = _mangledTypeName(type)
    }

    public mutating func recordReturnType<R: Codable>(_ type: R.Type) throws {
        returnType = _mangledTypeName(type)
    }

    public mutating func doneRecording() throws {}
}

/// Reads back what a ``ChorusInvocationEncoder`` recorded, on the node that runs the call.
public struct ChorusInvocationDecoder: DistributedTargetInvocationDecoder {
    public typealias SerializationRequirement = any Codable

    private let encoded: ChorusInvocationEncoder
    private var nextArgument = 0
    private let system: ClusterActorSystem

    public init(_ encoded: ChorusInvocationEncoder, system: ClusterActorSystem) {
        self.encoded = encoded
        self.system = system
    }

    public mutating func decodeGenericSubstitutions() throws -> [any Any.Type] {
        try encoded.genericSubstitutions.map { name in
            guard let type = _typeByName(name) else {
                throw RemoteCallError(.serialization, "unknown generic substitution \(name)")
            }
            return type
        }
    }

    public mutating func decodeNextArgument<Argument: Codable>() throws -> Argument {
        guard nextArgument < encoded.arguments.count else {
            throw RemoteCallError(.serialization, "call has only \(encoded.arguments.count) arguments")
        }
        defer { nextArgument += 1 }
        let decoder = JSONDecoder()
        decoder.userInfo[.actorSystemKey] = system
        return try decoder.decode(Argument.self, from: encoded.arguments[nextArgument])
    }

    public mutating func decodeErrorType() throws -> (any Any.Type)? {
        encoded.errorType.flatMap { _typeByName($0) }
    }

    public mutating func decodeReturnType() throws -> (any Any.Type)? {
        encoded.returnType.flatMap { _typeByName($0) }
    }
}

/// The outcome of running a distributed call, as the caller's node will receive it.
public enum ChorusCallResult: Sendable, Equatable {
    case value(Data)
    case void
    case error(type: String, message: String)
}

/// Collects the result of running a distributed target into a ``ChorusCallResult``.
public struct ChorusResultHandler: DistributedTargetInvocationResultHandler {
    public typealias SerializationRequirement = any Codable

    private let deliver: @Sendable (ChorusCallResult) -> Void

    public init(deliver: @escaping @Sendable (ChorusCallResult) -> Void) {
        self.deliver = deliver
    }

    public func onReturn<Success: Codable>(value: Success) async throws {
        deliver(.value(try JSONEncoder().encode(value)))
    }

    public func onReturnVoid() async throws {
        deliver(.void)
    }

    public func onThrow<Err: Error>(error: Err) async throws {
        let error = error as any Error
        deliver(.error(type: String(reflecting: type(of: error)), message: String(describing: error)))
    }
}
