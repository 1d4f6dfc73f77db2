/// A failure of the write-ahead log.
public struct WALError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Sendable {
        /// A frame in the middle of the log is corrupt; start-up stops (never a silent skip).
        case corrupt
        /// Segment files are missing or out of order.
        case gap
        /// A read, write or sync failed; the log accepts no more records.
        case io
        /// The log was closed.
        case closed
    }

    public var code: Code
    public var message: String
    /// The segment file concerned, if any.
    public var file: String?
    /// The byte offset in `file`, if any.
    public var offset: Int?

    public init(_ code: Code, _ message: String, file: String? = nil, offset: Int? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.offset = offset
    }

    public var description: String {
        var text = "WAL \(code.rawValue): \(message)"
        if let file { text += " (file \(file)" + (offset.map { ", offset \($0)" } ?? "") + ")" }
        return text
    }
}
