import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM as an async sequence, caught from the moment ``install()`` returns.
///
/// swift-service-lifecycle ignores a signal (`SIG_IGN`) and only later starts the dispatch source
/// that reports it, so a signal sent during start-up was lost and the node ran on. Here a C
/// handler writes the signal number into a pipe (`write` is async-signal-safe; the pipe keeps
/// it until it is read), and a thread turns the pipe into an `AsyncStream`. The node's runner
/// calls ``install()`` before it opens anything and stops its `ServiceGroup` on the first signal.
enum StopSignals {
    /// The pipe's write end, read by the handler. Written once, before the handler is installed
    /// (the handler cannot run before that), never again, so the handler's plain read is safe.
    nonisolated(unsafe) private static var writeEnd: Int32 = -1

    /// Installs the handlers and returns the signals as they arrive (`SIGINT`, `SIGTERM`).
    static func install() -> AsyncStream<Int32> {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { fatalError("pipe() failed: \(String(cString: strerror(errno)))") }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        writeEnd = ends[1]
        let readEnd = ends[0]
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        let reader = Thread {
            // A parent may have started this process with the signals blocked (threads of
            // libdispatch block them, and a child inherits its spawning thread's mask): this
            // thread always takes them, so they reach the handler.
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGINT)
            sigaddset(&set, SIGTERM)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            var byte: UInt8 = 0
            while true {
                let count = read(readEnd, &byte, 1)
                if count == 1 {
                    continuation.yield(Int32(byte))
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            continuation.finish()
        }
        reader.name = "chorus-signals"
        reader.start()
        for signal in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                let saved = errno  // the interrupted code may be about to read it
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(StopSignals.writeEnd, &byte, 1)
                errno = saved
            }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
        return stream
    }

    /// The signal's name for logs.
    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(signal)"
        }
    }
}
