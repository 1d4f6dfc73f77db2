import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Naming, listing and scanning of write-ahead log segment files.
///
/// A segment is `wal-<first LSN, 20 digits>.log`; LSNs (log sequence numbers) count records from 1
/// across the whole log, so a segment's name and its frame count give every record's LSN.
public enum WALSegments {
    /// The file name of the segment whose first record has `lsn`.
    public static func fileName(firstLSN lsn: UInt64) -> String {
        let digits = String(lsn)
        return "wal-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    /// The first LSN encoded in a segment file name, or `nil` if it is not a segment.
    public static func firstLSN(of fileName: String) -> UInt64? {
        guard fileName.hasPrefix("wal-"), fileName.hasSuffix(".log"), fileName.count == 28 else { return nil }
        return UInt64(fileName.dropFirst(4).dropLast(4))
    }

    /// The segments in `directory`, ascending by first LSN.
    public static func list(_ directory: String) throws -> [(firstLSN: UInt64, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name in firstLSN(of: name).map { ($0, directory + "/" + name) } }.sorted { $0.firstLSN < $1.firstLSN }
    }

    /// What a scan found in one segment.
    public struct SegmentReport: Sendable, Equatable {
        public var path: String
        public var firstLSN: UInt64
        public var records: Int
        /// Bytes of valid frames (where the next frame goes).
        public var validBytes: Int
        public var fileBytes: Int
        /// Zero bytes after the last frame: space the writer allocated ahead and has not used yet
        /// (``WriteAheadLog`` extends a segment in steps of zeros; see `SegmentFile`).
        public var preallocatedBytes: Int = 0
        /// Why the bytes after `validBytes` are not frames (a torn or corrupt tail), if there are any.
        public var tailProblem: String?
    }

    /// The result of scanning a log directory.
    public struct Report: Sendable, Equatable {
        public var segments: [SegmentReport] = []
        /// The LSN the next appended record gets.
        public var nextLSN: UInt64 = 1

        /// The tail that recovery truncates, if any: only the last segment may have one.
        public var tornTail: SegmentReport? { segments.last.flatMap { $0.tailProblem == nil ? nil : $0 } }
        /// Total records in the log.
        public var records: Int { segments.reduce(0) { $0 + $1.records } }
    }

    /// Reads every segment in order, calls `visit` for each valid record with its LSN, and reports
    /// the end of the valid log.
    ///
    /// Zeros after a segment's last frame are space allocated ahead
    /// (``SegmentReport/preallocatedBytes``), in any segment. A bad frame (CRC, length or type) at
    /// the end of the last segment, with no valid frame after it, is a torn tail: reported, not an
    /// error. Anything else (corruption followed by valid frames, a bad frame in an earlier
    /// segment, or missing segments) throws a ``WALError`` that names the file and offset.
    public static func scan(_ directory: String, visit: (UInt64, WALFrame) throws -> Void) throws -> Report {
        var report = Report()
        let segments = try list(directory)
        for (index, segment) in segments.enumerated() {
            let isLast = index == segments.count - 1
            if index > 0 && segment.firstLSN != report.nextLSN {
                throw WALError(
                    .gap, "segment starts at LSN \(segment.firstLSN) but the previous one ends before \(report.nextLSN)",
                    file: segment.path)
            }
            if index == 0 { report.nextLSN = segment.firstLSN }
            let bytes = try readFile(segment.path)
            var decoder = WALFrameDecoder()
            decoder.append(bytes)
            var records = 0
            var problem: String?
            while true {
                do {
                    let start = decoder.consumed
                    guard let frame = try decoder.next() else { break }
                    do {
                        try visit(report.nextLSN, frame)
                    } catch var error as WALError where error.file == nil {
                        // A record the visitor cannot use (an unknown version, say): say where it is.
                        error.message += " (record LSN \(report.nextLSN))"
                        error.file = segment.path
                        error.offset = start
                        throw error
                    } catch let error as DecodingError {
                        throw WALError(.corrupt, "undecodable record LSN \(report.nextLSN): \(error)", file: segment.path, offset: start)
                    }
                    report.nextLSN += 1
                    records += 1
                } catch let failure as WALFrameDecoder.Failure {
                    guard case .corrupt(let offset, let reason) = failure else { break }
                    if isZero(bytes[offset...]) { break }
                    if !isLast || containsValidFrame(bytes, after: offset) {
                        throw WALError(.corrupt, "\(reason); valid records follow, so this is not a torn tail", file: segment.path, offset: offset)
                    }
                    problem = reason
                    break
                }
            }
            if problem == nil && decoder.pendingBytes > 0 && !isZero(bytes[decoder.consumed...]) {
                if !isLast {
                    throw WALError(.corrupt, "segment ends inside a record", file: segment.path, offset: decoder.consumed)
                }
                problem = "incomplete record (\(decoder.pendingBytes) bytes)"
            }
            report.segments.append(
                SegmentReport(
                    path: segment.path, firstLSN: segment.firstLSN, records: records, validBytes: decoder.consumed,
                    fileBytes: bytes.count, preallocatedBytes: problem == nil ? bytes.count - decoder.consumed : 0, tailProblem: problem))
        }
        return report
    }

    /// Whether every byte is zero: the unused rest of a preallocated segment (no frame is all zeros:
    /// record type 0 does not exist).
    static func isZero(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.withUnsafeBytes { raw in
            var words = raw.count / 8
            var any: UInt64 = 0
            var index = 0
            while words > 0 {
                any |= raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                index += 8
                words -= 1
            }
            while index < raw.count {
                any |= UInt64(raw[index])
                index += 1
            }
            return any == 0
        }
    }

    /// Whether a valid frame starts anywhere after `offset` (a corrupt frame followed by good ones
    /// is corruption in the middle of the log, not a torn tail).
    static func containsValidFrame(_ bytes: [UInt8], after offset: Int) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            func u32(_ i: Int) -> UInt32 {
                UInt32(buffer[i]) | UInt32(buffer[i + 1]) << 8 | UInt32(buffer[i + 2]) << 16 | UInt32(buffer[i + 3]) << 24
            }
            var position = offset + 1
            while position + WALFrame.headerSize <= buffer.count {
                let length = Int(u32(position))
                let end = position + WALFrame.headerSize + length
                if length <= WALFrame.maxPayload, end <= buffer.count, WALFrame.Kind(rawValue: buffer[position + 8]) != nil,
                    CRC32C.checksum(UnsafeBufferPointer(rebasing: buffer[(position + 8)..<end])) == u32(position + 4)
                {
                    return true
                }
                position += 1
            }
            return false
        }
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WALError(.io, "cannot read the segment", file: path)
        }
        return [UInt8](data)
    }
}
