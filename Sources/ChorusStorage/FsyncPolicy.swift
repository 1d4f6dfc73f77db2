/// When the write-ahead log forces its writes to stable storage, and so what a crash can lose.
///
/// | policy | a change is acknowledged after | process crash (kill -9) loses | OS crash / power loss loses |
/// | --- | --- | --- | --- |
/// | `always` (default) | `write` + `fdatasync` of its batch | nothing acknowledged | nothing acknowledged |
/// | `interval(ms)` | `write` of its batch (page cache) | nothing acknowledged | up to `ms` of acknowledged changes |
/// | `none` | `write` of its batch (page cache) | nothing acknowledged | whatever the kernel had not written back (about 30 s on Linux defaults) |
public enum FsyncPolicy: Hashable, Sendable {
    case always
    case interval(milliseconds: Int)
    case none

    /// Parses `always`, `none`, or `interval:<ms>` (also `<ms>ms`).
    public init?(_ text: String) {
        switch text {
        case "always": self = .always
        case "none": self = .none
        default:
            let digits = text.hasPrefix("interval:") ? String(text.dropFirst(9)) : (text.hasSuffix("ms") ? String(text.dropLast(2)) : "")
            guard let ms = Int(digits), ms > 0 else { return nil }
            self = .interval(milliseconds: ms)
        }
    }

    public var description: String {
        switch self {
        case .always: "always"
        case .none: "none"
        case .interval(let ms): "interval:\(ms)"
        }
    }
}
