import HallpassJOSE
import HallpassStore
import HallpassTestSupport
import Testing

extension HubFixture {
    /// A client credentials token request (RFC 6749 section 4.4.2), with HTTP Basic unless
    /// `post` (then `client_secret_post`).
    func clientCredentials(
        client: String, secret: String?, scope: String? = nil, post: Bool = false
    ) async throws -> HTTPReply {
        var form = [("grant_type", "client_credentials")]
        if let scope { form.append(("scope", scope)) }
        if post || secret == nil {
            form.append(("client_id", client))
            if let secret { form.append(("client_secret", secret)) }
            return try await self.post(HubPath.token, form: form)
        }
        return try await self.post(HubPath.token, form: form, basic: (client, secret ?? ""))
    }

    /// A client credentials token that must be issued.
    func clientToken(
        client: String, secret: String?, scope: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> String {
        let reply = try await clientCredentials(client: client, secret: secret, scope: scope)
        try #require(reply.status == 200, "client_credentials answered \(reply.status): \(reply.text)", sourceLocation: sourceLocation)
        return try #require(reply.string("access_token"), sourceLocation: sourceLocation)
    }

    /// Registers a confidential machine client; returns its secret.
    func addMachineClient(_ id: String) async throws -> String {
        try #require(try await addClient(id, grants: ["client_credentials"]))
    }
}

@Suite("Token endpoint: client credentials grant (RFC 6749 section 4.4)")
struct ClientCredentialsTests {
    @Test("a confidential client registered for the grant gets an RFC 9068 token for itself: sub = client_id, no sid, no refresh token, no ID token, no user scopes")
    func grantWorks() async throws {
        try await withHub { hub in
            let secret = try await hub.addMachineClient("svc")
            let reply = try await hub.clientCredentials(client: "svc", secret: secret, scope: "openid profile email offline_access reports:read")
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.header("Cache-Control") == "no-store")
            #expect(reply.string("token_type") == "Bearer")
            #expect(reply["expires_in"]?.integerValue == 300)
            // Section 4.4.3: no refresh token; no user, so no ID token and no user scopes; the
            // hub knows no other scope, and unknown values are ignored.
            #expect(reply["refresh_token"] == nil)
            #expect(reply["id_token"] == nil)
            #expect(reply["scope"] == nil)
            #expect(Set(reply.json?.objectValue?.keys.map { $0 } ?? []) == ["access_token", "token_type", "expires_in"])

            let access = try #require(reply.string("access_token"))
            let jwks = try await hub.get(HubPath.jwks)
            let keys = try VerificationKeys(jwks: JWKSet(jsonBytes: jwks.body))
            let verified = try JWTValidator(configuration: .init(issuer: hub.configuration.issuer, audience: "svc"), keys: keys)
                .validate(access)
            #expect(verified.header["typ"]?.stringValue == "at+jwt")
            let claims = verified.claims
            #expect(claims.subject == "svc")
            #expect(claims["client_id"]?.stringValue == "svc")
            #expect(claims["aud"]?.stringValue == "svc")
            #expect(claims["iss"]?.stringValue == hub.configuration.issuer)
            #expect(claims.tokenID?.isEmpty == false)
            let iat = try #require(claims["iat"]?.integerValue)
            #expect(claims["exp"]?.integerValue == iat + 300)
            for absent in ["sid", "auth_time", "scope", "preferred_username", "nonce"] {
                #expect(claims[absent] == nil, "\(absent) must be absent")
            }

            // client_secret_post works as well; every token is new.
            let posted = try await hub.clientCredentials(client: "svc", secret: secret, post: true)
            #expect(posted.status == 200, "\(posted.text)")
            #expect(posted.string("access_token") != access)
        }
    }

    @Test("refused: a public client and a client not registered for the grant get unauthorized_client; a wrong secret or an unknown client invalid_client")
    func refusals() async throws {
        try await withHub { hub in
            let secret = try await hub.addMachineClient("svc")
            // The store takes a public client with the grant (the CLI refuses it); the hub must too.
            try await hub.addClient("spa", confidential: false, grants: ["client_credentials"])
            let userClientSecret = try #require(try await hub.addClient("api"))

            expectError(try await hub.clientCredentials(client: "spa", secret: nil), status: 400, code: "unauthorized_client")
            expectError(
                try await hub.clientCredentials(client: "api", secret: userClientSecret), status: 400, code: "unauthorized_client")
            let wrong = try await hub.clientCredentials(client: "svc", secret: "not-the-secret")
            expectError(wrong, status: 401, code: "invalid_client")
            #expect(wrong.header("WWW-Authenticate")?.hasPrefix("Basic") == true)
            expectError(try await hub.clientCredentials(client: "svc", secret: "not-the-secret", post: true), status: 401, code: "invalid_client")
            expectError(try await hub.clientCredentials(client: "nobody", secret: secret), status: 401, code: "invalid_client")
            expectError(try await hub.post(HubPath.token, form: [("grant_type", "client_credentials")]), status: 401, code: "invalid_client")
            let tooLong = String(repeating: "s", count: 1025)
            expectError(try await hub.clientCredentials(client: "svc", secret: secret, scope: tooLong), status: 400, code: "invalid_scope")
            #expect(try await hub.clientCredentials(client: "svc", secret: secret).status == 200)
        }
    }

    @Test("introspection says active with the token's claims, then inactive after RFC 7009 revocation; another client may not revoke it")
    func introspectionAndRevocation() async throws {
        try await withHub { hub in
            let secret = try await hub.addMachineClient("svc")
            let otherSecret = try await hub.addMachineClient("other")
            let access = try await hub.clientToken(client: "svc", secret: secret)

            let reply = try await hub.introspect(access, client: "svc", secret: secret)
            #expect(reply.status == 200)
            #expect(reply["active"] == true)
            #expect(reply.string("token_type") == "Bearer")
            #expect(reply.string("sub") == "svc")
            #expect(reply.string("client_id") == "svc")
            #expect(reply["sid"] == nil)
            #expect((reply["exp"]?.integerValue ?? 0) > Int64(wallClockSeconds()))
            #expect(try await hub.isActive(access, client: "other", secret: otherSecret))

            expectError(
                try await hub.revoke(access, hint: "access_token", client: "other", secret: otherSecret), status: 400,
                code: "unauthorized_client")
            #expect(try await hub.isActive(access, client: "svc", secret: secret))

            #expect(try await hub.revoke(access, hint: "access_token", client: "svc", secret: secret).status == 200)
            #expect(try await hub.isActive(access, client: "svc", secret: secret) == false)
            let events = try await hub.store.recentEvents(count: 10)
            #expect(events.last?.type == "token_revoked" && events.last?.client == "svc" && events.last?.user == "", "\(events)")
            // The client's next token is unaffected.
            #expect(try await hub.isActive(try await hub.clientToken(client: "svc", secret: secret), client: "svc", secret: secret))
        }
    }

    @Test("a client's own token speaks for no user: userinfo and the API end-session answer 401 invalid_token, even for a client whose id is a user's id")
    func noUser() async throws {
        try await withHub { hub in
            // A client id may look exactly like a user id; its token's sub is then that user's id.
            let user = try await hub.addUser("mallory", password: "pw-mallory-1", email: "mallory@example.test")
            let secret = try await hub.addMachineClient(user.id)
            let access = try await hub.clientToken(client: user.id, secret: secret)
            let userinfo = try await hub.userinfo(bearer: access)
            expectError(userinfo, status: 401, code: "invalid_token")
            #expect(!userinfo.text.contains("mallory"))
            expectError(try await hub.logout(bearer: access), status: 401, code: "invalid_token")
            #expect(try await hub.isActive(access, client: user.id, secret: secret))
        }
    }

    @Test("removing the client voids its tokens at once, even one minted from a hub's cached record; registered again, its tokens are live on arrival")
    func removalAndRegistrationAgain() async throws {
        try await withHub { hub in
            let secret = try await hub.addMachineClient("svc")
            let introspector = try #require(try await hub.addClient("api"))
            let access = try await hub.clientToken(client: "svc", secret: secret)
            #expect(try await hub.isActive(access, client: "api", secret: introspector))

            try await hub.store.removeClient(id: "svc", actor: "test")
            #expect(try await hub.isActive(access, client: "api", secret: introspector) == false)
            // The hub cached the record a moment ago: it may still issue a token from it, which
            // must be void on arrival.
            let cached = try await hub.clientCredentials(client: "svc", secret: secret)
            if cached.status == 200 {
                let token = try #require(cached.string("access_token"))
                #expect(try await hub.isActive(token, client: "api", secret: introspector) == false)
            } else {
                expectError(cached, status: 401, code: "invalid_client")
            }
            try await waitUntil("the hub forgets the removed client") {
                try await hub.clientCredentials(client: "svc", secret: secret).status == 401
            }

            // The same id again, with a new secret: its first tokens are good at once, its own
            // and a user's (both are issued after the watermark, which is still ahead of now).
            try await hub.addUser("walt", password: "pw-walt-1")
            let again = try #require(try await hub.addClient("svc", grants: ["client_credentials", "password"]))
            var reply = try await hub.clientCredentials(client: "svc", secret: again)
            try await waitUntil("the hub reads the new registration") {
                reply = try await hub.clientCredentials(client: "svc", secret: again)
                return reply.status == 200
            }
            let fresh = try #require(reply.string("access_token"))
            #expect(try await hub.isActive(fresh, client: "api", secret: introspector))
            let login = try await hub.loginTokens("walt", password: "pw-walt-1", client: "svc", secret: again)
            #expect(try await hub.isActive(login.access, client: "api", secret: introspector))
        }
    }

    @Test("discovery lists the grant; an unsupported grant names it")
    func discoveryAndUnsupported() async throws {
        try await withHub { hub in
            let discovery = try await hub.get(HubPath.discovery)
            let grants = discovery["grant_types_supported"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(grants.contains("client_credentials"))
            let secret = try await hub.addMachineClient("svc")
            let reply = try await hub.post(HubPath.token, form: [("grant_type", "implicit")], basic: ("svc", secret))
            expectError(reply, status: 400, code: "unsupported_grant_type")
            #expect(reply.string("error_description")?.contains("client_credentials") == true)
        }
    }
}
