import Foundation

/// Reads a child process's output pipe to its end on a thread of its own.
///
/// Not a `readabilityHandler`, a dispatch source around which libdispatch crashed in CI
/// (docs/testing.md); the few spawned nodes of a run get a thread each.
public enum PipeReader {
    /// Hands each chunk of `pipe`'s output to `onData`, then calls `onEnd` at its end (both on the
    /// reading thread). Call before the process runs, or right after.
    public static func start(_ pipe: Pipe, onData: @escaping @Sendable (Data) -> Void, onEnd: @escaping @Sendable () -> Void = {}) {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread {
            // `read(2)` itself: it returns what is there (Foundation's `read(upToCount:)` waits for
            // the whole count), and an error ends the loop instead of trapping (`availableData`).
            withExtendedLifetime(handle) {
                var buffer = [UInt8](repeating: 0, count: 64 * 1024)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
                    if count > 0 {
                        onData(Data(buffer[..<count]))
                    } else if count < 0 && errno == EINTR {
                        continue
                    } else {
                        break
                    }
                }
            }
            onEnd()
        }
    }
}
