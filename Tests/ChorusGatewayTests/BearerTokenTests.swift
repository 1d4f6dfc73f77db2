@testable import ChorusGateway
import Testing

@Suite("Bearer token header")
struct BearerTokenTests {
    @Test(arguments: [
        ("Bearer abc.def.ghi", "abc.def.ghi"), ("bearer abc", "abc"), ("BEARER abc", "abc"), ("BeArEr abc", "abc"),
        ("Bearer   abc  ", "abc"), ("Bearer \tabc\t", "abc"), ("Bearer a b ", "a b"), ("Bearer  tök\ten\t ", "tök\ten"), ("Bearer x", "x"),
    ])
    func accepted(_ header: String, _ token: String) {
        #expect(AuthMiddleware.bearerToken(header) == token)
    }

    @Test(arguments: ["", "Bearer", "Bearer ", "Bearer    ", "Basic abc", "Bearerabc", "Bearer\tabc", "Bearerx abc", "earer abc", "Bearér abc"])
    func refused(_ header: String) {
        #expect(AuthMiddleware.bearerToken(header) == nil)
    }
}
