import Hallpass
import HallpassCrypto
import HallpassJOSE
import HallpassStore
import HallpassTestSupport
import Testing

extension ValidatorFixture {
    /// A client's own access token as the hub mints it for the client credentials grant:
    /// `sub` and `aud` are the client id, and there is no `sid`, `auth_time` or username.
    func clientToken(
        client: String = ValidatorFixture.audience, issuedAt: Int64? = nil, jti: String? = nil, scope: String? = nil,
        extra: [String: JSONValue] = [:]
    ) throws -> String {
        let now = issuedAt ?? wallClockSecondsInt()
        var claims: [String: JSONValue] = [
            "iss": .string(Self.issuer), "sub": .string(client), "aud": .string(client), "exp": .integer(now + 300),
            "iat": .integer(now), "jti": .string(try jti ?? hexString(SecureRandom.bytes(count: 16))), "client_id": .string(client),
        ]
        if let scope { claims["scope"] = .string(scope) }
        for (name, value) in extra { claims[name] = value }
        return try signer.sign(claims: claims)
    }

    /// Registers the fixture's audience as a machine client.
    func addMachineClient(_ id: String = ValidatorFixture.audience) async throws {
        _ = try await store.createClient(id: id, confidential: true, grantTypes: ["client_credentials"], actor: "test")
    }
}

@Suite("Validator: client credentials tokens and the client watermark", .serialized)
struct ClientTokenTests {
    @Test("a client's own token (no sid, sub = client_id) is accepted and its Identity says client; a user's says user")
    func acceptsClientToken() async throws {
        let fixture = try await ValidatorFixture.start()
        defer { Task { await fixture.stop() } }
        try await fixture.addMachineClient()
        let token = try fixture.clientToken(scope: "notes:read")
        let session = try await fixture.login()
        let userToken = try fixture.token(session: session.sessionID)
        try await running(try fixture.validator()) { validator in
            let identity = try validator.validate(token)
            #expect(identity.kind == .client)
            #expect(identity.isClient)
            #expect(identity.subject == ValidatorFixture.audience)
            #expect(identity.clientID == ValidatorFixture.audience)
            #expect(identity.sessionID.isEmpty)
            #expect(identity.username == nil)
            #expect(identity.hasScope("notes:read"))
            #expect(identity.description == "Identity(client: \(ValidatorFixture.audience))")
            #expect(try validator.validate(token) == identity, "served from the cache")

            let user = try validator.validate(userToken)
            #expect(user.kind == .user)
            #expect(!user.isClient)
            #expect(user.subject == fixture.userID)
            #expect(user.sessionID == session.sessionID)
            #expect(user != identity)
        }
    }

    @Test("a token without sid whose sub is not its client_id is malformed, not a client's")
    func sessionlessUserTokenIsMalformed() async throws {
        let fixture = try await ValidatorFixture.start()
        defer { Task { await fixture.stop() } }
        try await running(try fixture.validator()) { validator in
            let forged = try fixture.clientToken(extra: ["sub": .string(fixture.userID)])
            #expect(refusal(validator, forged) == .malformed("claim sid is missing"))
        }
    }

    @Test("after clients remove (the store call the CLI makes) the client's own token and a user token issued to it are refused as revoked; other clients' tokens and later ones are not")
    func removalVoidsEveryTokenOfTheClient() async throws {
        let fixture = try await ValidatorFixture.start()
        defer { Task { await fixture.stop() } }
        try await fixture.addMachineClient()
        let clientToken = try fixture.clientToken()
        let session = try await fixture.login()
        let userToken = try fixture.token(session: session.sessionID)
        // A user token of another client, in a session of the same user, for the same API.
        let other = try await fixture.login(client: "other")
        let otherToken = try fixture.token(session: other.sessionID, client: "other", extra: ["aud": .string(ValidatorFixture.audience)])
        try await running(try fixture.validator()) { validator in
            #expect(refusal(validator, clientToken) == nil)
            #expect(refusal(validator, userToken) == nil)
            #expect(refusal(validator, otherToken) == nil)

            let watermark = try await fixture.store.removeClient(id: ValidatorFixture.audience, actor: "cli:test")

            try await waitUntil("client watermark") { refusal(validator, clientToken) == .revoked(.client) }
            #expect(refusal(validator, userToken) == .revoked(.client))
            #expect(refusal(validator, otherToken) == nil)
            // The watermark covers what a hub may still mint from its cached client record.
            let minted = try fixture.clientToken(issuedAt: watermark)
            #expect(refusal(validator, minted) == .revoked(.client))

            // Registered again, the client's tokens are issued after the watermark (as the
            // hub's minter does from the record) and are good.
            try await fixture.addMachineClient()
            let notBefore = try #require(try await fixture.store.client(id: ValidatorFixture.audience)?.notBefore)
            #expect(notBefore == watermark)
            let fresh = try fixture.clientToken(issuedAt: notBefore + 1)
            #expect(refusal(validator, fresh) == nil)
        }
    }

    @Test("a client's own token is revoked by its jti (RFC 7009 at the hub, tokens revoke at the CLI)")
    func clientTokenRevokedByJTI() async throws {
        let fixture = try await ValidatorFixture.start()
        defer { Task { await fixture.stop() } }
        try await fixture.addMachineClient()
        let token = try fixture.clientToken(jti: "client-jti-1")
        let sibling = try fixture.clientToken(jti: "client-jti-2")
        try await running(try fixture.validator()) { validator in
            #expect(refusal(validator, token) == nil)
            try await fixture.store.revokeTokenID("client-jti-1", expiresAt: nil, actor: "test", clientID: ValidatorFixture.audience)
            try await waitUntil("jti revocation") { refusal(validator, token) == .revoked(.token) }
            #expect(refusal(validator, sibling) == nil)
        }
    }

    @Test("a validator started after the removal has the client watermark from its snapshot")
    func snapshotHasTheClientWatermark() async throws {
        let fixture = try await ValidatorFixture.start()
        defer { Task { await fixture.stop() } }
        try await fixture.addMachineClient()
        let clientToken = try fixture.clientToken()
        let session = try await fixture.login()
        let userToken = try fixture.token(session: session.sessionID)
        try await fixture.store.removeClient(id: ValidatorFixture.audience, actor: "cli:test")
        try await running(try fixture.validator()) { validator in
            #expect(refusal(validator, clientToken) == .revoked(.client))
            #expect(refusal(validator, userToken) == .revoked(.client))
        }
    }
}
