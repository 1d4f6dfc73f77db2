import ChorusStorage
import Testing

@Suite("CRC32C and frames")
struct WALFrameTests {
    @Test("CRC-32C check values")
    func checkValues() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)  // RFC 3720 B.4
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum(Array(0..<32)) == 0x46DD_794E)
        // Continuing equals checksumming the concatenation, at every split.
        let data = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        for split in 0...data.count {
            #expect(CRC32C.checksum(data[split...], continuing: CRC32C.checksum(data[..<split])) == CRC32C.checksum(data))
        }
    }

    static func sampleFrames() -> [WALFrame] {
        var generator = SystemRandomNumberGenerator()
        return (0..<40).map { i in
            let size = [0, 1, 7, 8, 9, 100, 4096, 70_000][i % 8]
            return WALFrame(kind: i % 3 == 0 ? .user : .channel, payload: (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
    }

    @Test("the decoder yields the same frames fed byte by byte")
    func byteByByte() throws {
        let frames = Self.sampleFrames()
        var bytes: [UInt8] = []
        for frame in frames { frame.encode(into: &bytes) }
        var decoder = WALFrameDecoder()
        var decoded: [WALFrame] = []
        for byte in bytes {
            decoder.append(CollectionOfOne(byte))
            while let frame = try decoder.next() { decoded.append(frame) }
        }
        #expect(decoded == frames)
        #expect(decoder.pendingBytes == 0)
        #expect(decoder.consumed == bytes.count)
    }

    @Test("the decoder yields the same frames in random splits", arguments: 0..<20)
    func randomSplits(seed: Int) throws {
        let frames = Self.sampleFrames()
        var bytes: [UInt8] = []
        for frame in frames { frame.encode(into: &bytes) }
        var decoder = WALFrameDecoder()
        var decoded: [WALFrame] = []
        var position = 0
        while position < bytes.count {
            let length = min(Int.random(in: 1...20_000), bytes.count - position)
            decoder.append(bytes[position..<(position + length)])
            position += length
            while let frame = try decoder.next() { decoded.append(frame) }
        }
        #expect(decoded == frames)
    }

    @Test("every single-bit flip in a frame is detected")
    func bitFlips() {
        let frame = WALFrame(kind: .channel, payload: Array("a record of some length".utf8))
        let bytes = frame.bytes
        for bit in 0..<(bytes.count * 8) {
            var corrupted = bytes
            corrupted[bit / 8] ^= 1 << UInt8(bit % 8)
            var decoder = WALFrameDecoder()
            decoder.append(corrupted)
            let result = Result { try decoder.next() }
            switch result {
            case .success(let decodedFrame):
                // A flip in the length can only make the frame look incomplete, never valid.
                #expect(decodedFrame == nil, "bit \(bit) flipped and still decoded")
            case .failure:
                break
            }
        }
    }

    @Test("an impossible length is corruption at the frame's offset")
    func impossibleLength() {
        var bytes = WALFrame(kind: .user, payload: [1, 2, 3]).bytes
        bytes += [0xFF, 0xFF, 0xFF, 0x7F, 0, 0, 0, 0, 1]
        var decoder = WALFrameDecoder()
        decoder.append(bytes)
        #expect(throws: Never.self) { _ = try decoder.next() }
        #expect(throws: WALFrameDecoder.Failure.corrupt(offset: 12, reason: "length 2147483647 exceeds the 16 MiB frame limit")) {
            _ = try decoder.next()
        }
    }
}
