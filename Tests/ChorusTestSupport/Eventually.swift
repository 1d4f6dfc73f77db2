/// Waits until `condition` holds, polling every few milliseconds; fails after `timeout` instead of
/// hanging. (Waiting for concurrent work or network input to get somewhere, not measuring time.)
public func eventually(_ what: String, timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw EventuallyTimeout(description: "timed out waiting until \(what)") }
        try await Task.sleep(for: .milliseconds(2))
    }
}

/// Like ``eventually(_:timeout:_:)`` for a condition that asks over the network: an attempt that
/// throws counts as "not yet", and attempts are 50 ms apart.
public func eventuallyAsync(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while (try? await condition()) != true {
        guard ContinuousClock.now < deadline else { throw EventuallyTimeout(description: "timed out waiting until \(what)") }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// ``eventually(_:timeout:_:)`` ran out of time.
public struct EventuallyTimeout: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}
