/// The on-disk framing of one write-ahead log record.
///
/// ```
/// offset 0  u32 LE  payload length N (bytes after the 9-byte header)
/// offset 4  u32 LE  CRC-32C of bytes 8..<9+N (type and payload)
/// offset 8  u8      record type (WALFrame.Kind)
/// offset 9  N bytes payload
/// ```
/// A frame is valid only if its length is within ``maxPayload`` and its CRC matches. The length
/// is outside the CRC, so a corrupt length shows up as a CRC mismatch (or an impossible length).
public struct WALFrame: Hashable, Sendable {
    /// What the payload holds.
    public enum Kind: UInt8, Sendable {
        /// A `ChannelRecord` of one channel.
        case channel = 1
        /// A `UserRecord` of one user.
        case user = 2
        /// A batch of one channel's replicated log, with the replica's terms (``ReplicaBatch``).
        case replica = 3
        /// A batch of one user's replicated log.
        case userReplica = 4
    }

    /// Header size in bytes.
    public static let headerSize = 9
    /// The largest payload accepted (16 MiB); a longer length field means corruption.
    public static let maxPayload = 16 << 20

    public var kind: Kind
    public var payload: [UInt8]

    public init(kind: Kind, payload: [UInt8]) {
        self.kind = kind
        self.payload = payload
    }

    /// The frame's bytes, appended to `buffer`.
    public func encode(into buffer: inout [UInt8]) {
        precondition(payload.count <= Self.maxPayload, "WAL payload too large")
        let length = UInt32(payload.count)
        let crc = CRC32C.checksum(payload, continuing: CRC32C.checksum(CollectionOfOne(kind.rawValue)))
        buffer.reserveCapacity(buffer.count + Self.headerSize + payload.count)
        withUnsafeBytes(of: length.littleEndian) { buffer.append(contentsOf: $0) }
        withUnsafeBytes(of: crc.littleEndian) { buffer.append(contentsOf: $0) }
        buffer.append(kind.rawValue)
        buffer.append(contentsOf: payload)
    }

    /// The frame's bytes.
    public var bytes: [UInt8] {
        var buffer: [UInt8] = []
        encode(into: &buffer)
        return buffer
    }
}

/// Decodes frames from bytes that arrive in any split: a pure state machine, no I/O.
///
/// Feed bytes with ``append(_:)`` and pull frames with ``next()``. At the end of the input,
/// ``pendingBytes`` tells whether a partial frame (a torn tail) was left.
public struct WALFrameDecoder: Sendable {
    /// Why decoding stopped.
    public enum Failure: Error, Hashable, Sendable {
        /// The frame at `offset` fails its checksum or has an impossible length or type.
        case corrupt(offset: Int, reason: String)
    }

    private var buffer: [UInt8] = []
    private var start = 0
    /// Offset (in the whole input) of the first byte not yet returned as part of a frame.
    public private(set) var consumed = 0

    public init() {}

    /// Adds input bytes.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Bytes received but not yet decoded into a frame.
    public var pendingBytes: Int { buffer.count - start }

    /// The next complete frame, `nil` if more bytes are needed, or a ``Failure``.
    public mutating func next() throws(Failure) -> WALFrame? {
        guard pendingBytes >= WALFrame.headerSize else { return nil }
        let length = Int(readUInt32(at: start))
        guard length <= WALFrame.maxPayload else {
            throw .corrupt(offset: consumed, reason: "length \(length) exceeds the 16 MiB frame limit")
        }
        guard pendingBytes >= WALFrame.headerSize + length else { return nil }
        let expected = readUInt32(at: start + 4)
        let body = buffer[(start + 8)..<(start + WALFrame.headerSize + length)]
        guard CRC32C.checksum(body) == expected else {
            throw .corrupt(offset: consumed, reason: "CRC mismatch")
        }
        guard let kind = WALFrame.Kind(rawValue: buffer[start + 8]) else {
            throw .corrupt(offset: consumed, reason: "unknown record type \(buffer[start + 8])")
        }
        let frame = WALFrame(kind: kind, payload: Array(body.dropFirst()))
        start += WALFrame.headerSize + length
        consumed += WALFrame.headerSize + length
        return frame
    }

    private func readUInt32(at index: Int) -> UInt32 {
        UInt32(buffer[index]) | UInt32(buffer[index + 1]) << 8 | UInt32(buffer[index + 2]) << 16 | UInt32(buffer[index + 3]) << 24
    }
}
