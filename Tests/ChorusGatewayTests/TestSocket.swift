import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// A real WebSocket client for tests: collects the server's frames (parsed JSON), sends frames,
/// can stop reading (to play a slow consumer), and records the close code.
final class TestSocket: Sendable {
    /// A frame the server sent, parsed.
    struct Frame: @unchecked Sendable, CustomStringConvertible {
        // @unchecked: holds the immutable Foundation values JSONSerialization returns, never mutated.
        var object: [String: Any]
        var text: String

        var type: String? { object["type"] as? String }
        var seq: Int? { (object["seq"] as? NSNumber)?.intValue }
        var channelID: String? { object["channel_id"] as? String }
        var data: [String: Any] { object["data"] as? [String: Any] ?? [:] }
        var errorCode: String? { (object["error"] as? [String: Any])?["code"] as? String }
        var description: String { text }
    }

    private struct State {
        var frames: [Frame] = []
        var ended = false
        var closeCode: WebSocketErrorCode?
        var paused = false
        var resume: CheckedContinuation<Void, Never>?
    }
    /// Shared with the connection task.
    private final class Shared: Sendable {
        let state = Mutex(State())

        func append(_ frame: Frame) {
            state.withLock { $0.frames.append(frame) }
        }

        func waitWhilePaused() async {
            await withCheckedContinuation { continuation in
                let go = state.withLock { state in
                    if !state.paused { return true }
                    state.resume = continuation
                    return false
                }
                if go { continuation.resume() }
            }
        }
    }
    private let shared = Shared()
    private let outbox: AsyncStream<String>.Continuation
    private let task: Task<Void, Never>
    /// Frames consumed by ``next(timeout:)`` so far.
    private let cursor = Mutex(0)

    /// Connects to `url` (e.g. `ws://127.0.0.1:PORT/v1/ws?token=…`).
    init(url: String, headers: HTTPFields = [:]) {
        let (stream, outbox) = AsyncStream<String>.makeStream()
        self.outbox = outbox
        let shared = self.shared
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 22, additionalHeaders: headers)
        configuration.autoPing = .disabled
        task = Task {
            let close = try? await WebSocketClient.connect(url: url, configuration: configuration, logger: Logger(label: "test-socket")) {
                inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await text in stream { try await outbound.write(.text(text)) }
                    }
                    for try await message in inbound.messages(maxSize: 1 << 22) {
                        guard case .text(let text) = message else { continue }
                        let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
                        shared.append(Frame(object: object, text: text))
                        await shared.waitWhilePaused()
                    }
                    group.cancelAll()
                }
            }
            shared.state.withLock { state in
                state.ended = true
                state.closeCode = close?.closeCode
            }
        }
    }

    deinit {
        outbox.finish()
        task.cancel()
    }

    /// Sends a text frame.
    func send(_ text: String) {
        outbox.yield(text)
    }

    /// Stops reading (after the frame being read); the server's writes back up.
    func pause() {
        shared.state.withLock { $0.paused = true }
    }

    /// Reads again.
    func unpause() {
        let resume = shared.state.withLock { state in
            state.paused = false
            defer { state.resume = nil }
            return state.resume
        }
        resume?.resume()
    }

    /// Closes the connection from the client side.
    func close() {
        outbox.finish()
        task.cancel()
    }

    /// The next frame not yet returned, waiting up to `timeout`; fails if none comes.
    func next(timeout: Duration = .seconds(30), file: String = #fileID, line: Int = #line) async throws -> Frame {
        let deadline = ContinuousClock.now + timeout
        while true {
            let index = cursor.withLock { $0 }
            let (frame, ended) = shared.state.withLock { state in (index < state.frames.count ? state.frames[index] : nil, state.ended) }
            if let frame {
                cursor.withLock { $0 += 1 }
                return frame
            }
            if ended { throw TestFailure("\(file):\(line): socket closed (\(String(describing: closeCode))) while waiting for a frame") }
            guard ContinuousClock.now < deadline else { throw TestFailure("\(file):\(line): no frame within \(timeout)") }
            await waitForChange(until: deadline)
        }
    }

    /// The next frame whose type is not one of `skipping` (default: `health`).
    func next(skipping: Set<String> = ["health"], timeout: Duration = .seconds(30), file: String = #fileID, line: Int = #line) async throws -> Frame {
        while true {
            let frame = try await next(timeout: timeout, file: file, line: line)
            if let type = frame.type, skipping.contains(type) { continue }
            return frame
        }
    }

    /// Waits until the connection has ended; returns the server's close code.
    func closed(timeout: Duration = .seconds(15)) async throws -> WebSocketErrorCode? {
        let deadline = ContinuousClock.now + timeout
        while !shared.state.withLock({ $0.ended }) {
            guard ContinuousClock.now < deadline else { throw TestFailure("socket still open after \(timeout)") }
            await waitForChange(until: deadline)
        }
        return closeCode
    }

    var closeCode: WebSocketErrorCode? { shared.state.withLock { $0.closeCode } }

    /// Every frame received so far.
    var received: [Frame] { shared.state.withLock { $0.frames } }

    /// Waits for network input: a short poll (this waits for I/O; it does not measure time).
    private func waitForChange(until deadline: ContinuousClock.Instant) async {
        try? await Task.sleep(until: min(deadline, ContinuousClock.now + .milliseconds(5)))
    }
}

