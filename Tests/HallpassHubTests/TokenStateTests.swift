import HallpassJOSE
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("Revocation (RFC 7009)")
struct RevocationTests {
    @Test("revoking a refresh token answers 200 and ends the grant: the refresh fails and its access token is inactive", arguments: RedisTopologyUnderTest.underTest)
    func revokeRefreshToken(topology: RedisTopologyUnderTest) async throws {
        try await withHub(topology: topology) { hub in
            try await hub.addUser("olivia", password: "pw-olivia-1")
            let secret = try #require(try await hub.addClient("api"))
            let tokens = try await hub.loginTokens("olivia", password: "pw-olivia-1", client: "api", secret: secret)

            let reply = try await hub.revoke(tokens.refresh, hint: "refresh_token", client: "api", secret: secret)
            #expect(reply.status == 200)

            expectError(try await hub.refresh(tokens.refresh, client: "api", secret: secret), status: 400, code: "invalid_grant")
            #expect(try await hub.isActive(tokens.refresh, client: "api", secret: secret) == false)
            #expect(try await hub.isActive(tokens.access, client: "api", secret: secret) == false)
            // Revoking it again is still 200 (RFC 7009 section 2.2).
            #expect(try await hub.revoke(tokens.refresh, client: "api", secret: secret).status == 200)
        }
    }

    @Test("a client cannot revoke another client's tokens")
    func revokeByAnotherClientIsRefused() async throws {
        try await withHub { hub in
            try await hub.addUser("peggy", password: "pw-peggy-1")
            let secret = try #require(try await hub.addClient("api"))
            let otherSecret = try #require(try await hub.addClient("other"))
            let tokens = try await hub.loginTokens("peggy", password: "pw-peggy-1", client: "api", secret: secret)

            let access = try await hub.revoke(tokens.access, hint: "access_token", client: "other", secret: otherSecret)
            expectError(access, status: 400, code: "unauthorized_client")
            #expect(try await hub.isActive(tokens.access, client: "api", secret: secret))

            let refresh = try await hub.revoke(tokens.refresh, hint: "refresh_token", client: "other", secret: otherSecret)
            #expect(refresh.status < 500)
            #expect(try await hub.isActive(tokens.refresh, client: "api", secret: secret))
            _ = try await hub.refreshTokens(tokens.refresh, client: "api", secret: secret)
        }
    }

    @Test("revoking an access token makes it inactive while the session's refresh token still works", arguments: RedisTopologyUnderTest.underTest)
    func revokeAccessToken(topology: RedisTopologyUnderTest) async throws {
        try await withHub(topology: topology) { hub in
            try await hub.addUser("quinn", password: "pw-quinn-1")
            let secret = try #require(try await hub.addClient("api"))
            let tokens = try await hub.loginTokens("quinn", password: "pw-quinn-1", client: "api", secret: secret)
            // Introspected once first, so the later answer comes through the verified-token
            // cache: a cached signature must not outlive the revocation.
            #expect(try await hub.isActive(tokens.access, client: "api", secret: secret))

            #expect(try await hub.revoke(tokens.access, hint: "access_token", client: "api", secret: secret).status == 200)

            #expect(try await hub.isActive(tokens.access, client: "api", secret: secret) == false)
            expectError(try await hub.userinfo(bearer: tokens.access), status: 401, code: "invalid_token")
            let next = try await hub.refreshTokens(tokens.refresh, client: "api", secret: secret)
            #expect(try await hub.isActive(next.access, client: "api", secret: secret))
            #expect(try await hub.userinfo(bearer: next.access).status == 200)
        }
    }

    @Test("an unknown token answers 200; a bad token_type_hint is unsupported_token_type; a missing token is invalid_request")
    func revocationRequestErrors() async throws {
        try await withHub { hub in
            let secret = try #require(try await hub.addClient("api"))
            let unknownRefresh = try RefreshToken.issue(sessionID: Identifiers.make()).encoded
            for token in [unknownRefresh, "garbage", "a.b.c"] {
                #expect(try await hub.revoke(token, client: "api", secret: secret).status == 200, "\(token)")
            }
            expectError(
                try await hub.revoke("garbage", hint: "id_token", client: "api", secret: secret), status: 400,
                code: "unsupported_token_type")
            expectError(try await hub.revoke(nil, client: "api", secret: secret), status: 400, code: "invalid_request")
            expectError(try await hub.revoke("garbage", client: "api", secret: "wrong"), status: 401, code: "invalid_client")
        }
    }
}

@Suite("Introspection (RFC 7662)")
struct IntrospectionTests {
    @Test("a public client may not introspect: 401 invalid_client")
    func publicClientIsRefused() async throws {
        try await withHub { hub in
            try await hub.addUser("rupert", password: "pw-rupert-1")
            try await hub.addClient("spa", confidential: false)
            let tokens = try await hub.loginTokens("rupert", password: "pw-rupert-1", client: "spa", secret: nil)
            let reply = try await hub.post(HubPath.introspection, form: [("token", tokens.access), ("client_id", "spa")])
            expectError(reply, status: 401, code: "invalid_client")
            #expect(reply["active"] == nil)
        }
    }

    @Test("unknown, garbage and expired tokens are exactly {\"active\": false}")
    func inactiveTokens() async throws {
        try await withHub { hub in
            try await hub.addUser("sybil", password: "pw-sybil-1")
            let secret = try #require(try await hub.addClient("api"))
            let tokens = try await hub.loginTokens("sybil", password: "pw-sybil-1", client: "api", secret: secret)
            let claims = try await hub.verifiedClaims(of: tokens.access, audience: "api").members

            // A token signed with the hub's own key, for the live session, but expired (beyond
            // any leeway); and its twin with a future `exp`, to show expiry is the only difference.
            let stored = try #require(try await hub.store.signingKeys().last)
            let signer = try stored.signer(kek: nil)
            let now = Int64(wallClockSeconds())
            var expired = claims
            expired["iat"] = .integer(now - 900)
            expired["exp"] = .integer(now - 600)
            expired["jti"] = .string(try Identifiers.make())
            var twin = expired
            twin["exp"] = .integer(now + 60)
            twin["jti"] = .string(try Identifiers.make())
            #expect(try await hub.isActive(try signer.sign(claims: twin, type: "at+jwt"), client: "api", secret: secret))

            let unknownRefresh = try RefreshToken.issue(sessionID: Identifiers.make()).encoded
            for token in [unknownRefresh, "garbage", "a.b.c", try signer.sign(claims: expired, type: "at+jwt")] {
                let reply = try await hub.introspect(token, client: "api", secret: secret)
                #expect(reply.status == 200)
                #expect(reply.json == ["active": false], "\(reply.text)")
            }
        }
    }

    @Test("an ID token is not an access token: introspection says inactive and userinfo refuses it")
    func idTokenIsNotAnAccessToken() async throws {
        try await withHub { hub in
            try await hub.addUser("vera", password: "pw-vera-1")
            let secret = try #require(try await hub.addClient("api"))
            let tokens = try await hub.loginTokens("vera", password: "pw-vera-1", client: "api", secret: secret, scope: "openid")
            let idToken = try #require(tokens.reply.string("id_token"))
            #expect(try await hub.isActive(idToken, client: "api", secret: secret) == false)
            expectError(try await hub.userinfo(bearer: idToken), status: 401, code: "invalid_token")
            expectError(try await hub.logout(bearer: idToken), status: 401, code: "invalid_token")
            #expect(try await hub.isActive(tokens.access, client: "api", secret: secret))
        }
    }

    @Test("a live access token is active with sub, client_id, scope, exp and sid", arguments: RedisTopologyUnderTest.underTest)
    func liveAccessToken(topology: RedisTopologyUnderTest) async throws {
        try await withHub(topology: topology) { hub in
            let user = try await hub.addUser("trent", password: "pw-trent-1")
            let secret = try #require(try await hub.addClient("api"))
            let tokens = try await hub.loginTokens("trent", password: "pw-trent-1", client: "api", secret: secret, scope: "openid email")
            let reply = try await hub.introspect(tokens.access, client: "api", secret: secret)
            #expect(reply.status == 200)
            #expect(reply.header("Cache-Control") == "no-store")
            #expect(reply["active"] == true)
            #expect(reply.string("sub") == user.id)
            #expect(reply.string("client_id") == "api")
            #expect(reply.string("scope") == "openid email")
            #expect(reply.string("sid") == tokens.sessionID)
            #expect(reply.string("iss") == hub.configuration.issuer)
            let exp = try #require(reply["exp"]?.integerValue)
            #expect(exp > Int64(wallClockSeconds()))
        }
    }

    @Test("a current refresh token is active with token_type refresh_token; a rotated one is not", arguments: RedisTopologyUnderTest.underTest)
    func refreshToken(topology: RedisTopologyUnderTest) async throws {
        try await withHub(topology: topology) { hub in
            let user = try await hub.addUser("uma", password: "pw-uma-1")
            let secret = try #require(try await hub.addClient("api"))
            let tokens = try await hub.loginTokens("uma", password: "pw-uma-1", client: "api", secret: secret)
            let reply = try await hub.introspect(tokens.refresh, client: "api", secret: secret)
            #expect(reply.status == 200)
            #expect(reply["active"] == true)
            #expect(reply.string("token_type") == "refresh_token")
            #expect(reply.string("client_id") == "api")
            #expect(reply.string("sub") == user.id)
            #expect(reply.string("sid") == tokens.sessionID)
            #expect((reply["exp"]?.integerValue ?? 0) > Int64(wallClockSeconds()))

            let next = try await hub.refreshTokens(tokens.refresh, client: "api", secret: secret)
            #expect(try await hub.isActive(tokens.refresh, client: "api", secret: secret) == false)
            #expect(try await hub.isActive(next.refresh, client: "api", secret: secret))
        }
    }
}
