/// A closure kept as the value of a generic container such as `Mutex`.
///
/// Kept bare (`Mutex<(@Sendable () -> Void)?>`), a closure is reabstracted on its way in and out
/// of `withLock`'s `inout` value, and with Swift 6.3 the write-back stores the *wrapped* closure:
/// each `withLock { $0 }` adds two thunks around it, so every call through it gets slower than
/// the one before. The WAL's sync observer had grown to a chain that cost ~16% of a durable
/// send's CPU (docs/benchmarks.md, "REST requests"). Inside a struct the closure keeps its own
/// representation, and reads cost the same forever (`ClosureSlotTests` checks the depth).
public struct ClosureSlot<Closure: Sendable>: Sendable {
    public let closure: Closure

    public init(_ closure: Closure) {
        self.closure = closure
    }
}
