import ChorusModel
import Crypto
import Foundation

/// HS256 JSON Web Tokens: the only algorithm Chorus accepts.
///
/// Hand-written rather than a general JWT library so the accepted surface is exactly what the API
/// contract says: header `alg` must be `HS256`; `exp`, `nbf` and `iat` are honoured when present.
public enum JWT {
    /// The claims Chorus reads. A token without `user_id` is a server token.
    public struct Claims: Sendable, Equatable, Codable {
        public var userID: String?
        public var name: String?
        /// Expiry, Unix seconds.
        public var exp: Double?
        /// Not before, Unix seconds.
        public var nbf: Double?
        /// Issued at, Unix seconds.
        public var iat: Double?

        public init(userID: String? = nil, name: String? = nil, exp: Double? = nil, nbf: Double? = nil, iat: Double? = nil) {
            self.userID = userID
            self.name = name
            self.exp = exp
            self.nbf = nbf
            self.iat = iat
        }

        enum CodingKeys: String, CodingKey {
            case userID = "user_id"
            case name, exp, nbf, iat
        }
    }

    private struct Header: Codable {
        var alg: String
        var typ: String?
    }

    /// Signs `claims` with `secret`.
    public static func sign(_ claims: Claims, secret: some ContiguousBytes) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let header = base64URLEncode(try! encoder.encode(Header(alg: "HS256", typ: "JWT")))
        let payload = base64URLEncode(try! encoder.encode(claims))
        let signingInput = "\(header).\(payload)"
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: SymmetricKey(data: secret))
        return "\(signingInput).\(base64URLEncode(Data(mac)))"
    }

    /// Verifies `token` against `secret` at time `now`; returns its claims or the reason it is refused.
    ///
    /// `leeway` absorbs clock skew between the token issuer and this node for `exp`, `nbf` and `iat`.
    public static func verify(
        _ token: String, secret: some ContiguousBytes, now: Timestamp, leeway: Double = 30
    ) throws(ChatError) -> Claims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            let headerData = base64URLDecode(parts[0]),
            let payloadData = base64URLDecode(parts[1]),
            let signature = base64URLDecode(parts[2])
        else { throw invalid("token is not a well-formed JWT") }
        guard let header = try? JSONDecoder().decode(Header.self, from: headerData) else {
            throw invalid("token header is not valid JSON")
        }
        guard header.alg == "HS256" else { throw invalid("token algorithm \(header.alg) is not accepted; use HS256") }
        let signingInput = Data(token.utf8[..<parts[1].endIndex])
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: SymmetricKey(data: secret)) else {
            throw invalid("token signature does not match")
        }
        guard let claims = try? JSONDecoder().decode(Claims.self, from: payloadData) else {
            throw invalid("token claims are not valid (user_id and name must be strings, exp/nbf/iat numbers)")
        }
        try validate(claims, now: now, leeway: leeway)
        return claims
    }

    /// The checks on verified claims: exp, nbf and iat against `now` (with `leeway` seconds) and
    /// the user id's syntax.
    static func validate(_ claims: Claims, now: Timestamp, leeway: Double = 30) throws(ChatError) {
        let seconds = Double(now.milliseconds) / 1000
        if let exp = claims.exp, seconds >= exp + leeway {
            throw ChatError(.tokenExpired, "token expired")
        }
        if let nbf = claims.nbf, seconds + leeway < nbf {
            throw invalid("token is not valid yet (nbf)")
        }
        if let iat = claims.iat, seconds + leeway < iat {
            throw invalid("token is issued in the future (iat)")
        }
        if let userID = claims.userID, UserID(userID) == nil {
            throw invalid("user_id must be 1-64 characters from [A-Za-z0-9_.@-]")
        }
    }

    private static func invalid(_ message: String) -> ChatError {
        ChatError(.invalidToken, message)
    }

    static func base64URLEncode(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64URLDecode(_ text: Substring) -> Data? {
        guard text.utf8.allSatisfy({ byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                return true
            default:
                return false
            }
        }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let remainder = base64.utf8.count % 4
        if remainder == 1 { return nil }
        if remainder > 0 { base64 += String(repeating: "=", count: 4 - remainder) }
        return Data(base64Encoded: base64)
    }
}
