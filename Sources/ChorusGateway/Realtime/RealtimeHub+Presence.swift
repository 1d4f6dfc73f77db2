import ChorusChat

/// Presence: a user is online while any socket of theirs is open, anywhere (docs/stream-api.md,
/// "Watching"). Their user actor counts the sockets; the first open and the last close are
/// announced to the active actors of their channels.
extension RealtimeHub {
    /// Session `session`'s socket is open: if it is its user's first anywhere, the user is online
    /// now and the watchers of their channels that asked for presence hear of it.
    func noteOpened(_ session: RealtimeSession) async {
        let user = session.user
        guard (try? await node.withUser(user) { try await $0.socketOpened(session.id) }) == true else { return }
        Task { [node] in await node.announcePresence(of: user, online: true) }
    }

    /// Session `session`'s socket closed: if it was its user's last, the user is offline now.
    func noteClosed(_ session: RealtimeSession) async {
        let user = session.user
        guard (try? await node.withUser(user) { try await $0.socketClosed(session.id) }) == true else { return }
        Task { [node] in await node.announcePresence(of: user, online: false) }
    }
}
