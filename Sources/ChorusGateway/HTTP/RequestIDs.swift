import Synchronization

/// Ids for the requests that bring no `X-Request-Id` of their own, and for the sends that bring no
/// client message id (the edge's `edge-…`, the same on every retry of the send): 64-bit values in
/// hex that look random, never repeat within a process, and cost no system call.
///
/// `UInt64.random` asked the kernel (`getrandom`) on every request (~1.4% of `/healthz`; a send's
/// `randomHex` another ~2.5% of its in-process cost, `ChorusMicro`). Here
/// the kernel is asked once, for where a counter starts; each id is the counter's next value
/// through splitmix64's finalizer, a bijection, so distinct counts give distinct ids (for 2^64
/// requests), and ids of different processes start far apart.
enum RequestIDs {
    private static let counter = Atomic<UInt64>(UInt64.random(in: .min ... .max))

    /// A fresh id: 1 to 16 lowercase hex digits.
    static func next() -> String {
        String(mix(counter.wrappingAdd(1, ordering: .relaxed).oldValue), radix: 16)
    }

    /// splitmix64's output function: an invertible mix of all 64 bits.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
