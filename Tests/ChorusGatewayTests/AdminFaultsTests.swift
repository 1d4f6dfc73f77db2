import Testing

/// `POST /v1/admin/faults` (docs/api.md, "Fault injection"): off unless the node's config turns
/// it on (the drill's partitions use it; `DrillProcessTests` runs one against real processes).
@Suite("Admin: fault injection")
struct AdminFaultsTests {
    @Test("without cluster.fault_injection the endpoint is 404 NOT_FOUND; a user token is refused first")
    func offByDefault() async throws {
        try await TestAPI.run(.live) { api in
            let server = try await api.call(.post, "/v1/admin/faults", token: api.serverToken, json: ["isolated": true])
            #expect(server.status == .notFound && server.errorCode == "NOT_FOUND", "\(server.rawBody)")
            #expect(server.rawBody.contains("fault_injection"))
            let user = try await api.call(.post, "/v1/admin/faults", as: "alice", json: ["isolated": true])
            #expect(user.status == .forbidden, "\(user.rawBody)")
        }
    }
}
