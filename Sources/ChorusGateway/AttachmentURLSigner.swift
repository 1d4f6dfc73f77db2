import ChorusModel
import Crypto
import Foundation

/// Makes time-limited, signed CDN URLs for attachments.
///
/// URL: `{base}/{asset_id}/{size}?expires={unix}&signature={hex HMAC-SHA256(key, "{asset_id}/{size}?expires={unix}")}`.
/// The CDN (or its edge function) recomputes the HMAC with the same key and checks `expires`.
public struct AttachmentURLSigner: Sendable {
    /// The sizes a client may ask for.
    public static let sizes: Set<String> = ["full", "1600", "512", "256", "128"]

    public let baseURL: String
    public let ttlSeconds: Int
    private let key: SymmetricKey

    public init(baseURL: String, key: [UInt8], ttlSeconds: Int) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.key = SymmetricKey(data: key)
        self.ttlSeconds = ttlSeconds
    }

    /// The signed URL for `asset` at `size`, and when it expires.
    public func url(for asset: AssetID, size: String, now: Timestamp) -> (url: String, expiresAt: Int64) {
        let expires = now.seconds + Int64(ttlSeconds)
        let path = "\(asset.rawValue)/\(size)?expires=\(expires)"
        let signature = HMAC<SHA256>.authenticationCode(for: Data(path.utf8), using: key)
        let hex = signature.map { String(format: "%02x", $0) }.joined()
        return ("\(baseURL)/\(path)&signature=\(hex)", expires)
    }
}
