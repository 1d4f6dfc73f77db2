/// Waits until `condition` holds, polling every few milliseconds; fails after `timeout` instead of
/// hanging. (Waiting for concurrent work or network input to get somewhere, not measuring time.)
public func eventually(_ what: String, timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw EventuallyTimeout(description: "timed out waiting until \(what)") }
        try await Task.sleep(for: .milliseconds(2))
    }
}

/// ``eventually(_:timeout:_:)`` ran out of time.
public struct EventuallyTimeout: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}
