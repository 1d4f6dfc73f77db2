/// `bytes` random bytes as lowercase hex (`2 × bytes` characters): generated secrets, connection
/// ids and the client message ids of sends without one. From the system's generator, eight bytes
/// a draw (one `getrandom` each: drawing byte by byte cost a send eight system calls).
public func randomHex(bytes: Int) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var generator = SystemRandomNumberGenerator()
    var text: [UInt8] = []
    text.reserveCapacity(bytes * 2)
    var word: UInt64 = 0
    for index in 0..<bytes {
        if index % 8 == 0 { word = generator.next() }
        let byte = UInt8(truncatingIfNeeded: word)
        word >>= 8
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}
