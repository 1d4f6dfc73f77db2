import ChorusBench
import Testing

@Suite struct MQTTTests {
    @Test func connectIsMQTT311WithACleanSession() {
        #expect(MQTT.connect(clientID: "ab", keepAliveSeconds: 60) == [
            0x10, 14, 0, 4, 0x4D, 0x51, 0x54, 0x54, 4, 0x02, 0, 60, 0, 2, 0x61, 0x62,
        ])
    }

    @Test func subscribeAndPublishBytes() {
        #expect(MQTT.subscribe(topic: "t", packetID: 1) == [0x82, 6, 0, 1, 0, 1, 0x74, 0])
        #expect(MQTT.publish(topic: "t", payload: [9], qos: 1, packetID: 258) == [0x32, 6, 0, 1, 0x74, 1, 2, 9])
        #expect(MQTT.publish(topic: "t", payload: [9]) == [0x30, 4, 0, 1, 0x74, 9])
    }

    @Test func longPacketsUseAMultiByteLength() throws {
        let payload = [UInt8](repeating: 7, count: 318)
        let bytes = MQTT.publish(topic: "t", payload: payload)  // 3 + 318 = 321 = 0xC1 0x02
        #expect(Array(bytes[1...2]) == [0xC1, 0x02])
        var parser = MQTT.Parser()
        parser.append(bytes)
        let packet = try #require(try parser.next())
        #expect(packet.publish?.topic == "t")
        #expect(packet.publish.map { Array($0.payload) } == payload)
    }

    @Test func parsesPacketsSplitAndJoinedAnyhow() throws {
        let stream = [0x20, 2, 0, 0] + MQTT.publish(topic: "a/b", payload: Array("1:2:".utf8), qos: 1, packetID: 7) + [0x40, 2, 0, 7]
        for chunk in [1, 2, 3, stream.count] {
            var parser = MQTT.Parser()
            var packets: [MQTT.Packet] = []
            for start in stride(from: 0, to: stream.count, by: chunk) {
                parser.append(stream[start..<min(start + chunk, stream.count)])
                while let packet = try parser.next() { packets.append(packet) }
            }
            #expect(packets.map(\.type) == [.connack, .publish, .puback])
            #expect(packets[1].publish?.packetID == 7)
            #expect(packets[1].publish?.topic == "a/b")
            #expect(packets[2].packetID == 7)
        }
    }

    @Test func refusesGarbage() {
        var unknownType = MQTT.Parser()
        unknownType.append([0x00, 0])
        #expect(throws: MQTT.ProtocolError.self) { try unknownType.next() }

        var endlessLength = MQTT.Parser()
        endlessLength.append([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        #expect(throws: MQTT.ProtocolError.self) { try endlessLength.next() }

        var tooLarge = MQTT.Parser(maxPacketSize: 100)
        tooLarge.append([0x30, 0xC1, 0x02])
        #expect(throws: MQTT.ProtocolError.self) { try tooLarge.next() }
    }
}
