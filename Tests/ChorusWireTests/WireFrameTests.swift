import ChorusWire
import Testing

@Suite("Wire frames and handshake")
struct WireFrameTests {
    static let envelopes: [Wire.Envelope] = [
        .hello(Wire.Hello(cluster: "chorus-local", node: "chorus-1", nonce: Array(0..<32))),
        .proof(Array(repeating: 7, count: 32)),
        .welcome,
        .refused("wrong cluster secret"),
        .call(
            Wire.Call(
                id: 42, recipientKind: "channel", recipientKey: "1843000000000001", target: "$s11ChorusChat12ChannelActorC4send",
                genericSubstitutions: ["Si"], arguments: [[1, 2, 3], [], Array(repeating: 9, count: 300)], timeoutMilliseconds: 5000, epoch: 3)),
        .reply(Wire.Reply(id: 42, result: .value([6, 1, 120]))),
        .reply(Wire.Reply(id: 43, result: .void)),
        .reply(Wire.Reply(id: 44, result: .error(Wire.RemoteError(domain: "chat", payload: [8, 0])))),
        .ping,
        .pong,
    ]

    @Test("every envelope round-trips, fed one byte at a time and all at once")
    func byteByByte() throws {
        let stream = Self.envelopes.flatMap { $0.frame() }
        var decoder = WireFrameDecoder()
        var decoded: [Wire.Envelope] = []
        for byte in stream {
            decoder.append([byte])
            while let envelope = try decoder.next() { decoded.append(envelope) }
        }
        #expect(decoded == Self.envelopes)
        var whole = WireFrameDecoder()
        whole.append(stream)
        var again: [Wire.Envelope] = []
        while let envelope = try whole.next() { again.append(envelope) }
        #expect(again == Self.envelopes)
    }

    @Test("random splits decode the same envelopes")
    func randomSplits() throws {
        let stream = Self.envelopes.flatMap { $0.frame() }
        for _ in 0..<200 {
            var decoder = WireFrameDecoder()
            var decoded: [Wire.Envelope] = []
            var offset = 0
            while offset < stream.count {
                let size = Int.random(in: 1...64)
                decoder.append(stream[offset..<min(stream.count, offset + size)])
                offset += size
                while let envelope = try decoder.next() { decoded.append(envelope) }
            }
            #expect(decoded == Self.envelopes)
        }
    }

    @Test("an oversized frame is refused from its length alone; garbage throws, never crashes")
    func limitsAndGarbage() {
        var decoder = WireFrameDecoder(maxFrameBytes: 1024)
        decoder.append([0, 0, 4, 1])
        #expect(throws: WireError(.tooLarge, "frame of 1025 bytes exceeds the 1024-byte limit")) { try decoder.next() }
        for _ in 0..<2000 {
            var garbage = WireFrameDecoder()
            let body = (0..<Int.random(in: 1...40)).map { _ in UInt8.random(in: 0...255) }
            let length = UInt32(body.count)
            garbage.append([UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + body)
            _ = try? garbage.next()
        }
        for envelope in Self.envelopes {
            let frame = envelope.frame()
            for cut in 5..<frame.count {  // a frame whose length claims fewer bytes than its fields need
                var truncated = Array(frame.prefix(cut))
                let length = UInt32(cut - 4)
                truncated.replaceSubrange(0..<4, with: [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
                var decoder = WireFrameDecoder()
                decoder.append(truncated)
                _ = try? decoder.next()
            }
        }
    }

    /// Runs a handshake between `a` and `b` until neither has anything to send.
    func run(_ a: inout Handshake, _ b: inout Handshake) -> (Handshake.State, Handshake.State) {
        var toB = [a.hello]
        var toA = [b.hello]
        var states: (Handshake.State, Handshake.State) = (.pending, .pending)
        while !toA.isEmpty || !toB.isEmpty {
            let forB = toB
            toB = []
            for envelope in forB {
                let step = b.receive(envelope)
                toA += step.send
                states.1 = step.state
            }
            let forA = toA
            toA = []
            for envelope in forA {
                let step = a.receive(envelope)
                toB += step.send
                states.0 = step.state
            }
        }
        return states
    }

    @Test("the same secret establishes both sides; a wrong secret, cluster or version is refused with a reason")
    func handshake() {
        let secret = Array("s3cret".utf8)
        var a = Handshake(cluster: "c", node: "n1", secret: secret, nonce: Handshake.randomNonce())
        var b = Handshake(cluster: "c", node: "n2", secret: secret, nonce: Handshake.randomNonce())
        let ok = run(&a, &b)
        #expect(ok.0 == .established(peer: "n2") && ok.1 == .established(peer: "n1"))

        var good = Handshake(cluster: "c", node: "n1", secret: secret, nonce: Handshake.randomNonce())
        var intruder = Handshake(cluster: "c", node: "evil", secret: Array("guess".utf8), nonce: Handshake.randomNonce())
        let refused = run(&good, &intruder)
        #expect(refused.0 == .failed("wrong cluster secret from evil"))
        if case .failed = refused.1 {} else { Issue.record("the intruder should learn it was refused: \(refused.1)") }

        var other = Handshake(cluster: "other", node: "n3", secret: secret, nonce: Handshake.randomNonce())
        var mine = Handshake(cluster: "c", node: "n1", secret: secret, nonce: Handshake.randomNonce())
        #expect(run(&mine, &other).0 == .failed("wrong cluster: other, expected c"))

        var early = Handshake(cluster: "c", node: "n1", secret: secret, nonce: Handshake.randomNonce())
        #expect(early.receive(.reply(Wire.Reply(id: 1, result: .void))).state == .failed("a message before the handshake completed"))
        var old = Handshake(cluster: "c", node: "n1", secret: secret, nonce: Handshake.randomNonce())
        #expect(old.receive(.hello(Wire.Hello(cluster: "c", version: 1, node: "n0", nonce: Handshake.randomNonce()))).state
            == .failed("protocol version 1, this node speaks \(Wire.protocolVersion)"))
    }

    @Test("a replayed proof does not open a connection with a new nonce")
    func replayedProof() {
        let secret = Array("s3cret".utf8)
        let victim = Handshake(cluster: "c", node: "n1", secret: secret, nonce: Handshake.randomNonce())
        var honest = Handshake(cluster: "c", node: "n2", secret: secret, nonce: Handshake.randomNonce())
        _ = honest.receive(victim.hello)
        let recordedProof = honest.receive(victim.hello).send  // nothing: a second hello is refused
        #expect(recordedProof == [.refused("a second hello")])
        // An attacker replays a proof made for another nonce.
        var fresh = Handshake(cluster: "c", node: "n1", secret: secret, nonce: Handshake.randomNonce())
        var proofMaker = Handshake(cluster: "c", node: "n2", secret: secret, nonce: Handshake.randomNonce())
        let oldProof = proofMaker.receive(victim.hello).send
        _ = fresh.receive(.hello(Wire.Hello(cluster: "c", node: "n2", nonce: Handshake.randomNonce())))
        #expect(fresh.receive(oldProof[0]).state == .failed("wrong cluster secret from n2"))
    }
}
