import HallpassJOSE
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("Token endpoint: password and refresh grants")
struct TokenGrantTests {
    @Test("a password login returns an RFC 9068 access token, a refresh token and an ID token", arguments: RedisTopologyUnderTest.underTest)
    func passwordLogin(topology: RedisTopologyUnderTest) async throws {
        try await withHub(topology: topology) { hub in
            let user = try await hub.addUser("alice", password: "correct horse", name: "Alice", email: "alice@example.test")
            let secret = try await hub.addClient("api")
            let reply = try await hub.login("alice", password: "correct horse", client: "api", secret: secret, scope: "openid profile email")
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.header("Cache-Control") == "no-store")
            #expect(reply.string("token_type") == "Bearer")
            #expect(reply["expires_in"]?.integerValue == 300)
            let access = try #require(reply.string("access_token"))
            let jwks = try await hub.get("/oauth2/jwks")
            let keys = try VerificationKeys(jwks: JWKSet(jsonBytes: jwks.body))
            let verified = try JWTValidator(configuration: .init(issuer: hub.configuration.issuer, audience: "api"), keys: keys)
                .validate(access)
            #expect(verified.header["typ"]?.stringValue == "at+jwt")
            #expect(verified.claims.subject == user.id)
            for claim in ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope", "sid", "auth_time"] {
                #expect(verified.claims[claim] != nil, "missing \(claim)")
            }
            let refresh = try #require(reply.string("refresh_token"))
            #expect(RefreshToken(parsing: refresh) != nil)
            #expect(reply.string("id_token") != nil)
        }
    }

    @Test("a chain of 100 rotations: each refresh returns a new token and the old one stops working", arguments: RedisTopologyUnderTest.underTest)
    func rotationChain(topology: RedisTopologyUnderTest) async throws {
        try await withHub(topology: topology) { hub in
            try await hub.addUser("bob", password: "pw-bob-123")
            let secret = try await hub.addClient("api")
            var token = try #require(try await hub.login("bob", password: "pw-bob-123", client: "api", secret: secret).string("refresh_token"))
            var seen: Set<String> = [token]
            for _ in 0..<100 {
                let reply = try await hub.refresh(token, client: "api", secret: secret)
                #expect(reply.status == 200, "\(reply.text)")
                let next = try #require(reply.string("refresh_token"))
                #expect(seen.insert(next).inserted)
                token = next
            }
            let introspection = try await hub.introspect(token, client: "api", secret: secret!)
            #expect(introspection["active"]?.boolValue == true)
        }
    }
}
