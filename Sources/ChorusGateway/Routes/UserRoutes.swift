import ChorusChat
import ChorusModel
import Hummingbird

/// `/v1/users` (profiles, admin upsert) and `/v1/blocks`.
struct UserRoutes {
    let node: ChatNode
    let maxBodyBytes: Int

    func register(on v1: RouterGroup<ChorusRequestContext>) {
        v1.put("users/:userID", use: upsertUser)
        v1.get("users/:userID", use: getUser)
        v1.get("blocks", use: listBlocks)
        v1.post("blocks", use: addBlock)
        v1.delete("blocks/:userID", use: removeBlock)
    }

    @Sendable func upsertUser(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        try context.requireServer()
        let userID = try context.userID()
        let body = try await JSONBody.decode(UpsertUserRequest.self, from: request, limit: maxBodyBytes)
        return try JSONBody.response(UserBody(profile: try await node.upsertUser(userID, displayName: body.displayName)))
    }

    @Sendable func getUser(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        try JSONBody.response(UserBody(profile: try await node.profile(of: try context.userID())))
    }

    @Sendable func listBlocks(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return try JSONBody.response(["blocked_user_ids": try await node.withUser(user.id) { try await $0.blockedUsers() }])
    }

    @Sendable func addBlock(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let body = try await JSONBody.decode(BlockRequest.self, from: request, limit: maxBodyBytes)
        try await node.block(body.userID, by: user.id)
        return try JSONBody.response(["blocked_user_ids": try await node.withUser(user.id) { try await $0.blockedUsers() }], status: .created)
    }

    @Sendable func removeBlock(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let other = try context.userID()
        try await node.withUser(user.id) { try await $0.unblock(other) }
        return JSONBody.noContent
    }
}
