import Foundation
import HTTPTypes
import Testing

@testable import HallpassHub

@Suite("Basic client credentials (RFC 6749 section 2.3.1)")
struct BasicCredentialsTests {
    private func credentials(_ value: String) throws -> (id: String, secret: String)? {
        try ClientAuthenticator.basicCredentials(HTTPFields([HTTPField(name: .authorization, value: value)]))
    }

    private func basic(_ text: String) -> String { "Basic " + Data(text.utf8).base64EncodedString() }

    @Test("id and secret are form-urlencoded before base64; the scheme is case-insensitive")
    func decoding() throws {
        let plain = try credentials(basic("demo-api:s3cret"))
        #expect(plain?.id == "demo-api" && plain?.secret == "s3cret")
        let encoded = try credentials("bAsIc  " + Data("my%3Aapp:a+b%25:c".utf8).base64EncodedString())
        #expect(encoded?.id == "my:app" && encoded?.secret == "a b%:c")
        let padded = try credentials("BASIC \t" + Data("app:pw1".utf8).base64EncodedString() + " \t")
        #expect(padded?.id == "app" && padded?.secret == "pw1")
        let empty = try credentials(basic("public-app:"))
        #expect(empty?.id == "public-app" && empty?.secret == "")
    }

    @Test("another scheme is not Basic; a broken Basic header is invalid_client")
    func refused() throws {
        #expect(try credentials("Bearer abc") == nil)
        #expect(try credentials("Basicx " + Data("a:b".utf8).base64EncodedString()) == nil)
        #expect(try credentials("Basic\t" + Data("a:b".utf8).base64EncodedString()) == nil)
        for value in ["Basic", "Basic ", "Basic !!!", basic("no-colon"), basic("bad%zz:x"), "Basic " + Data([0xFF, 0x3A]).base64EncodedString(), "Basic YQ", "Basic YTpi=", "Basic Y==="] {
            #expect(throws: OAuthError.self, "\(value)") { try credentials(value) }
        }
    }
}
