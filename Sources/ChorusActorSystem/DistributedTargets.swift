import Distributed
import Synchronization

/// Runs inbound calls like the standard library's `executeDistributedTarget`, but asks the
/// runtime for a target's parameter and return types once per target instead of once per call.
///
/// The standard library's version demangles the target's name three times on every call (its
/// parameter count, its parameter types, its return type): measured, that was 12% of all the CPU
/// of a remote call over both nodes (docs/benchmarks.md, "Cluster transport"). The types of a
/// non-generic target never change, so they are kept here by name; a generic target's depend on
/// the call's substitutions and goes through the standard library as before.
///
/// The call itself goes through the same runtime entry point the standard library uses
/// (`swift_distributed_execute_target`), with the same arguments; see ``executeTarget``.
final class DistributedTargets: Sendable {
    /// A non-generic target's name and types, as the runtime reported them.
    final class Signature: @unchecked Sendable {
        // Sendable: every field is set in `init` and never written again, and the buffers are
        // only read (by the runtime, while a call runs) until `deinit`; a call holds the signature.
        let name: UnsafeMutableBufferPointer<UInt8>
        let argumentTypes: UnsafeMutableBufferPointer<any Any.Type>
        let returnType: any Any.Type
        /// `returnType` as the serialization requirement, cast once; `nil` for `Void`.
        let codableReturnType: (any Codable.Type)?

        init(name: String, argumentTypes: UnsafeMutableBufferPointer<any Any.Type>, returnType: any Any.Type, codableReturnType: (any Codable.Type)?) {
            self.name = .allocate(capacity: name.utf8.count)
            _ = self.name.initialize(from: name.utf8)
            self.argumentTypes = argumentTypes
            self.returnType = returnType
            self.codableReturnType = codableReturnType
        }

        deinit {
            name.deallocate()
            argumentTypes.deallocate()
        }
    }

    private enum Known {
        case signature(Signature)
        /// Generic, or not a target the runtime knows: the standard library handles (or refuses) it.
        case standard
    }

    /// At most this many targets are remembered (a program has a fixed set; a peer could send
    /// made-up names, which the runtime refuses, and those must not fill the memory).
    static let capacity = 4096

    private let known = Mutex<[String: Known]>([:])

    /// Runs `target` on `actor` with the arguments of `decoder`, and hands the outcome to `handler`.
    func execute(
        on actor: any DistributedActor, target: RemoteCallTarget, decoder: inout ChorusInvocationDecoder, handler: ChorusResultHandler,
        system: ClusterActorSystem
    ) async throws {
        guard case .signature(let signature) = lookUp(target.identifier) else {
            return try await system.executeDistributedTarget(on: actor, target: target, invocationDecoder: &decoder, handler: handler)
        }
        func allocate<R>(_: R.Type) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(UnsafeMutablePointer<R>.allocate(capacity: 1)) }
        let result = _openExistential(signature.returnType, do: allocate)
        defer {
            result.deallocate()
            withExtendedLifetime(signature) {}  // its buffers are in use until the call is done
        }
        do {
            try await executeTarget(
                on: actor, signature.name.baseAddress!, UInt(signature.name.count), argumentDecoder: &decoder,
                argumentTypes: UnsafeRawPointer(signature.argumentTypes.baseAddress!), resultBuffer: UnsafeRawPointer(result),
                substitutions: nil, witnessTables: nil, numWitnessTables: 0)
            if let returnType = signature.codableReturnType {
                // The result is moved out of the buffer, which is left uninitialized for `deallocate`.
                // (Copying it out and only deallocating the buffer leaked every result that holds a
                // reference: a string, an array, an object.)
                func deliver<R: Codable>(_: R.Type) async throws {
                    try await handler.onReturn(value: result.assumingMemoryBound(to: R.self).move())
                }
                try await deliver(returnType)
            } else {
                try await handler.onReturnVoid()
            }
        } catch {
            try await handler.onThrow(error: error)
        }
    }

    /// The signature of a non-generic target (asked of the runtime the first time), or `.standard`.
    private func lookUp(_ name: String) -> Known {
        if let known = known.withLock({ $0[name] }) { return known }
        let found = Self.signature(of: name)
        known.withLock { known in
            if known.count < Self.capacity { known[name] = found }
        }
        return found
    }

    private static func signature(of name: String) -> Known {
        let utf8 = Array(name.utf8)
        return utf8.withUnsafeBufferPointer { utf8 -> Known in
            let (start, length) = (utf8.baseAddress!, UInt(utf8.count))
            guard _getGenericEnvironmentOfDistributedTarget(start, length) == nil else { return .standard }
            let count = __getParameterCount(start, length)
            guard count >= 0, let returnType = __getReturnTypeInfo(start, length, nil, nil) else { return .standard }
            let types = UnsafeMutableBufferPointer<any Any.Type>.allocate(capacity: max(Int(count), 1))
            let decoded = __getParameterTypeInfo(start, length, nil, nil, UnsafeMutableRawPointer(types.baseAddress!)._rawValue, Int(count))
            guard decoded == count else {
                types.deallocate()
                return .standard
            }
            let codableReturnType = returnType as? any Codable.Type
            guard codableReturnType != nil || returnType == Void.self else {
                types.deallocate()
                return .standard
            }
            return .signature(Signature(name: name, argumentTypes: types, returnType: returnType, codableReturnType: codableReturnType))
        }
    }
}

/// The runtime's entry point for running a distributed target with decoded argument types: the
/// one the standard library's `executeDistributedTarget` calls (it is not public). Its two raw
/// pointer parameters are `Builtin.RawPointer` in the standard library's declaration, which
/// `UnsafeRawPointer` wraps and passes alike.
@_silgen_name("swift_distributed_execute_target")
private func executeTarget<D: DistributedTargetInvocationDecoder>(
    on actor: AnyObject, _ targetName: UnsafePointer<UInt8>, _ targetNameLength: UInt, argumentDecoder: inout D,
    argumentTypes: UnsafeRawPointer, resultBuffer: UnsafeRawPointer, substitutions: UnsafeRawPointer?, witnessTables: UnsafeRawPointer?,
    numWitnessTables: UInt
) async throws
