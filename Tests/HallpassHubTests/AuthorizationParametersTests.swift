import Testing

@testable import HallpassHub

@Suite("Authorization request parameters and redirect URIs")
struct AuthorizationParametersTests {
    private func check(_ query: String, registered: [String], confidential: Bool = true) throws(AuthorizationParameters.Failure) -> AuthorizationParameters {
        let form: FormBody
        do { form = try FormBody(parsing: Array(query.utf8)) } catch { preconditionFailure("bad test query \(query)") }
        return try AuthorizationParameters(
            form, registration: .init(redirectURIs: registered, mayUseAuthorizationCode: true, isConfidential: confidential))
    }

    @Test("a registered redirect URI is accepted; an unregistered one gets a page, not a redirect")
    func exactMatch() throws {
        let accepted = try check("response_type=code&state=s&redirect_uri=https%3A%2F%2Fapp.example%2Fcb", registered: ["https://app.example/cb"])
        #expect(accepted.redirectURI == "https://app.example/cb" && accepted.scope == Scopes.defaultScope)
        for uri in ["https%3A%2F%2Fapp.example%2Fcb%2F", "https%3A%2F%2FAPP.example%2Fcb", "http%3A%2F%2F127.0.0.1%3A9%2Fcb", ""] {
            #expect(throws: AuthorizationParameters.Failure.unregisteredRedirect) {
                try check("response_type=code&state=s&redirect_uri=\(uri)", registered: ["https://app.example/cb", "http://127.0.0.1:8/cb"])
            }
        }
    }

    /// `==` on strings is canonical equivalence: these matched before matching compared bytes,
    /// and the hub redirected to a URI the client never registered.
    @Test("canonically equivalent but different bytes do not match", arguments: [
        // U+037E GREEK QUESTION MARK is canonically ";".
        ("https%3A%2F%2Fapp.example%2Fcb%CD%BEx", "https://app.example/cb\u{37E}x", "https://app.example/cb;x"),
        // A decomposed é.
        ("https%3A%2F%2Fapp.example%2Fcafe%CC%81", "https://app.example/cafe\u{301}", "https://app.example/caf\u{E9}"),
        // U+212A KELVIN SIGN is canonically "K".
        ("https%3A%2F%2Fapp.example%2F%E2%84%AA", "https://app.example/\u{212A}", "https://app.example/K"),
    ])
    func canonicalEquivalents(encoded: String, requested: String, registered: String) {
        #expect(requested == registered)  // what made the old `contains` match
        #expect(throws: AuthorizationParameters.Failure.unregisteredRedirect) {
            try check("response_type=code&state=s&redirect_uri=\(encoded)", registered: [registered])
        }
        #expect(!RedirectURI.isRegistered(requested, in: [registered]))
        #expect(!RedirectURI.isSame(requested, registered))
    }

    /// The fuzzer's first find: `...Sstw-cK` (43 base64url characters, but `K` leaves low
    /// bits set that a 32-byte digest cannot) was accepted, for a code no verifier redeems.
    @Test("a code_challenge is a canonical base64url SHA-256 digest")
    func challenge() throws {
        let base = "response_type=code&state=s&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_challenge_method=S256&code_challenge="
        let registered = ["https://app.example/cb"]
        let good = PKCE.challenge(for: String(repeating: "v", count: 43))
        #expect(try check(base + good, registered: registered, confidential: false).codeChallenge == good)
        for bad in ["E9Melhoa2OwvFzEMTJgUCHaoeK1t8URWbuGJSstw-cK", String(repeating: "a", count: 43), String(repeating: "A", count: 42) + ".", good + "A"] {
            #expect(throws: AuthorizationParameters.Failure.refused(
                redirectURI: "https://app.example/cb", error: "invalid_request", description: "code_challenge is malformed", state: "s")) {
                try check(base + bad, registered: registered, confidential: false)
            }
        }
    }

    @Test("after the redirect URI, failures redirect back with the request's state")
    func refusals() {
        let registered = ["https://app.example/cb"]
        let base = "redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s1"
        #expect(throws: AuthorizationParameters.Failure.refused(
            redirectURI: "https://app.example/cb", error: "unsupported_response_type", description: "only response_type=code is supported", state: "s1")) {
            try check(base + "&response_type=token", registered: registered)
        }
        #expect(throws: AuthorizationParameters.Failure.refused(
            redirectURI: "https://app.example/cb", error: "invalid_request", description: "PKCE (code_challenge with S256) is required", state: "s1")) {
            try check(base + "&response_type=code", registered: registered, confidential: false)
        }
    }
}
