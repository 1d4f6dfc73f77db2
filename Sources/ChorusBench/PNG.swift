/// A palette image and its PNG encoding (deflate with fixed Huffman codes and run/row matches, which
/// suits charts: mostly flat colour). No dependencies; the output is a standard PNG any viewer reads.
public struct PaletteImage: Sendable {
    public let width: Int
    public let height: Int
    public var palette: [(UInt8, UInt8, UInt8)]
    public private(set) var pixels: [UInt8]

    public init(width: Int, height: Int, palette: [(UInt8, UInt8, UInt8)]) {
        precondition(width > 0 && height > 0 && !palette.isEmpty && palette.count <= 256)
        self.width = width
        self.height = height
        self.palette = palette
        self.pixels = [UInt8](repeating: 0, count: width * height)
    }

    public subscript(x: Int, y: Int) -> UInt8 {
        get { pixels[y * width + x] }
        set { if x >= 0 && y >= 0 && x < width && y < height { pixels[y * width + x] = newValue } }
    }

    /// The PNG file.
    public func png() -> [UInt8] {
        var raw: [UInt8] = []
        raw.reserveCapacity((width + 1) * height)
        for y in 0..<height {
            raw.append(0)  // filter: none
            raw.append(contentsOf: pixels[(y * width)..<((y + 1) * width)])
        }
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header: [UInt8] = []
        header += PNG.bigEndian(UInt32(width)) + PNG.bigEndian(UInt32(height))
        header += [8, 3, 0, 0, 0]  // 8-bit indexed colour, deflate, no filter variants, no interlace
        PNG.chunk("IHDR", header, into: &out)
        PNG.chunk("PLTE", palette.flatMap { [$0.0, $0.1, $0.2] }, into: &out)
        PNG.chunk("IDAT", Deflate.zlib(raw, rowLength: width + 1), into: &out)
        PNG.chunk("IEND", [], into: &out)
        return out
    }
}

enum PNG {
    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    static func chunk(_ type: String, _ data: [UInt8], into out: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        out += bigEndian(UInt32(data.count)) + typeBytes + data
        out += bigEndian(crc32(typeBytes + data))
    }

    static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// CRC-32 (ISO-HDLC), as PNG chunks use.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

/// zlib/deflate (RFC 1950/1951) with one fixed-Huffman block. Matches are found at distance 1 (runs)
/// and at the row length (the same pixels one row up): cheap, and most of a chart.
enum Deflate {
    static func zlib(_ data: [UInt8], rowLength: Int) -> [UInt8] {
        var bits = BitWriter()
        bits.write(0x78, count: 8)
        bits.write(0x01, count: 8)
        bits.write(1, count: 1)  // final block
        bits.write(1, count: 2)  // fixed Huffman codes
        var i = 0
        while i < data.count {
            var bestLength = 0
            var bestDistance = 0
            for distance in [1, rowLength] where distance <= i {
                var length = 0
                while length < 258, i + length < data.count, data[i + length] == data[i + length - distance] { length += 1 }
                if length > bestLength {
                    bestLength = length
                    bestDistance = distance
                }
            }
            if bestLength >= 3 {
                writeLength(bestLength, &bits)
                writeDistance(bestDistance, &bits)
                i += bestLength
            } else {
                writeSymbol(Int(data[i]), &bits)
                i += 1
            }
        }
        writeSymbol(256, &bits)
        var out = bits.finish()
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        out += PNG.bigEndian(b << 16 | a)
        return out
    }

    /// Literal/length symbols with the fixed code (RFC 1951 3.2.6); Huffman codes go most significant bit first.
    static func writeSymbol(_ symbol: Int, _ bits: inout BitWriter) {
        switch symbol {
        case 0...143: bits.writeReversed(UInt32(0x30 + symbol), count: 8)
        case 144...255: bits.writeReversed(UInt32(0x190 + symbol - 144), count: 9)
        case 256...279: bits.writeReversed(UInt32(symbol - 256), count: 7)
        default: bits.writeReversed(UInt32(0xC0 + symbol - 280), count: 8)
        }
    }

    static let lengthBases = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBases = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    static func writeLength(_ length: Int, _ bits: inout BitWriter) {
        let code = lengthBases.lastIndex { $0 <= length }!
        writeSymbol(257 + code, &bits)
        bits.write(UInt32(length - lengthBases[code]), count: lengthExtra[code])
    }

    static func writeDistance(_ distance: Int, _ bits: inout BitWriter) {
        precondition(distance <= 32768, "deflate distances are at most 32 KiB")
        let code = distanceBases.lastIndex { $0 <= distance }!
        bits.writeReversed(UInt32(code), count: 5)
        bits.write(UInt32(distance - distanceBases[code]), count: distanceExtra[code])
    }
}

/// Packs bits least significant first, as deflate does.
struct BitWriter {
    private(set) var bytes: [UInt8] = []
    private var current: UInt32 = 0
    private var filled = 0

    mutating func write(_ value: UInt32, count: Int) {
        for bit in 0..<count {
            current |= ((value >> UInt32(bit)) & 1) << UInt32(filled)
            filled += 1
            if filled == 8 {
                bytes.append(UInt8(current))
                current = 0
                filled = 0
            }
        }
    }

    /// A Huffman code: its most significant bit goes first.
    mutating func writeReversed(_ code: UInt32, count: Int) {
        for bit in stride(from: count - 1, through: 0, by: -1) { write((code >> UInt32(bit)) & 1, count: 1) }
    }

    mutating func finish() -> [UInt8] {
        if filled > 0 { bytes.append(UInt8(current)) }
        current = 0
        filled = 0
        return bytes
    }
}
