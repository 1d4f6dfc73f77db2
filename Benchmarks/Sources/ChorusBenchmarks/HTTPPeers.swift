import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix

/// Reference HTTP servers that answer every request with `200 {"status":"ok"}`, as Chorus's
/// `/healthz` does, each one layer further from the bare event loop. `Benchmarks/rest/run.sh`
/// (`PEERS=1`) measures each with the same wrk line as nginx and Chorus, which splits a
/// request's server CPU into the layers that cost it (docs/benchmarks.md, "REST requests").
///
///   chorus-benchmarks http-peer loop PORT          NIO's HTTP/1 handlers; answered on the event loop
///   chorus-benchmarks http-peer task PORT          the same, but each request is answered by a Swift
///                                                  task on the cooperative pool (one hop there and back)
///   chorus-benchmarks http-peer hummingbird PORT   Hummingbird with one route and no middleware
func httpPeer(_ kind: String, port: Int) async throws {
    switch kind {
    case "loop", "task":
        let group = MultiThreadedEventLoopGroup.singleton
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(OKHandler(hop: kind == "task"))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        print("listening on \(channel.localAddress!)")
        try await channel.closeFuture.get()
    case "hummingbird":
        let router = Router()
        let ok = ByteBuffer(string: #"{"status":"ok"}"#)
        router.get("healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ok))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    default:
        print("http-peer loop|task|hummingbird PORT")
    }
}

/// Answers each request once its end arrives: at once on the event loop, or (`hop`) from a task
/// on the cooperative pool, which writes back through the event loop.
private final class OKHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let hop: Bool
    init(hop: Bool) { self.hop = hop }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        guard hop else { return respond(context) }
        let loop = context.eventLoop
        let bound = NIOLoopBound(context, eventLoop: loop)
        Task {
            loop.execute { self.respond(bound.value) }
        }
    }

    private func respond(_ context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        headers.add(name: "Content-Length", value: "15")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: #"{"status":"ok"}"#)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
