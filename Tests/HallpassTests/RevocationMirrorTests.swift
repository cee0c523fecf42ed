import Hallpass
import HallpassJOSE
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("Validator: revocations made through the store reach a running validator", .serialized)
struct RevocationMirrorTests {
    @Test("a valid token is accepted with its identity, and a second call is served from the cache")
    func acceptsValidToken() async throws {
        let fixture = try await ValidatorFixture.start()
        defer { Task { await fixture.stop() } }
        let session = try await fixture.login()
        let token = try fixture.token(session: session.sessionID)
        try await running(try fixture.validator()) { validator in
            let identity = try validator.validate(token)
            #expect(identity.subject == fixture.userID)
            #expect(identity.username == "alice")
            #expect(identity.sessionID == session.sessionID)
            #expect(identity.clientID == ValidatorFixture.audience)
            #expect(identity.scopes == ["openid", "notes:read"])
            #expect(identity.hasScope("notes:read"))
            #expect(identity.expiresAt > wallClockSeconds())
            #expect(try validator.validate(token) == identity)
            #expect(validator.status == .current)
        }
    }

    @Test("ended session, revoked jti, revoked grant, user watermark, single-login eviction and refresh reuse are each rejected without a restart", arguments: RedisTopologyUnderTest.underTest)
    func everyRevocationKind(topology: RedisTopologyUnderTest) async throws {
        let fixture = try await ValidatorFixture.start(topology: topology)
        defer { Task { await fixture.stop() } }
        try await running(try fixture.validator()) { validator in
            // Session ended (logout).
            let ended = try await fixture.login()
            let endedToken = try fixture.token(session: ended.sessionID)
            #expect(refusal(validator, endedToken) == nil)
            try await fixture.store.endSession(ended.sessionID, reason: "logout", actor: "test")
            try await waitUntil("session revocation") { refusal(validator, endedToken) == .revoked(.session) }

            // One jti.
            let live = try await fixture.login()
            let jtiToken = try fixture.token(session: live.sessionID, jti: "jti-revoked-1")
            let sibling = try fixture.token(session: live.sessionID, jti: "jti-kept-1")
            #expect(refusal(validator, jtiToken) == nil)
            try await fixture.store.revokeTokenID("jti-revoked-1", expiresAt: nil, actor: "test")
            try await waitUntil("jti revocation") { refusal(validator, jtiToken) == .revoked(.token) }
            #expect(refusal(validator, sibling) == nil)

            // One client's grant (RFC 7009 with a refresh token); the session has a second grant? No:
            // the session ends with its last grant, so both the grant and the session void it.
            let granted = try await fixture.login()
            let grantToken = try fixture.token(session: granted.sessionID, issuedAt: wallClockSecondsInt() - 5)
            #expect(refusal(validator, grantToken) == nil)
            _ = try await fixture.store.revokeGrant(granted.refreshToken, clientID: ValidatorFixture.audience, actor: "test")
            try await waitUntil("grant revocation") {
                if case .revoked = refusal(validator, grantToken) { return true }
                return false
            }

            // Refresh-token reuse ends the session.
            let rotating = try await fixture.login()
            let rotatingToken = try fixture.token(session: rotating.sessionID)
            guard case .rotated = try await fixture.store.rotate(rotating.refreshToken, clientID: ValidatorFixture.audience, grace: 0, actor: "test") else {
                Issue.record("first rotation")
                return
            }
            #expect(refusal(validator, rotatingToken) == nil)
            try await Task.sleep(for: .milliseconds(5))
            let reuse = try await fixture.store.rotate(rotating.refreshToken, clientID: ValidatorFixture.audience, grace: 0, actor: "test")
            guard case .reuseDetected = reuse else {
                Issue.record("reuse not detected: \(reuse)")
                return
            }
            try await waitUntil("refresh reuse") { refusal(validator, rotatingToken) == .revoked(.session) }

            // Single login, newest wins: a new login ends the older session.
            let older = try await fixture.login()
            let olderToken = try fixture.token(session: older.sessionID)
            #expect(refusal(validator, olderToken) == nil)
            let newer = try await fixture.login(policy: .newestWins)
            #expect(newer.endedSessions.contains(older.sessionID))
            try await waitUntil("single-login eviction") { refusal(validator, olderToken) == .revoked(.session) }
            let newerToken = try fixture.token(session: newer.sessionID, issuedAt: wallClockSecondsInt() - 2)
            #expect(refusal(validator, newerToken) == nil)

            // The user's watermark (forced logout that voids every token issued so far).
            _ = try await fixture.store.endSessions(ofUser: fixture.userID, reason: "admin", actor: "test", revokeIssuedTokens: true)
            // A token of a session the store never recorded is caught by the watermark alone.
            let unrecorded = try fixture.token(session: "aaaaaaaaaaaaaaaaaaaaaaaaaa", issuedAt: wallClockSecondsInt() - 2)
            try await waitUntil("user watermark") { refusal(validator, unrecorded) == .revoked(.user) }
            try await waitUntil("user's session") { refusal(validator, newerToken) != nil }
        }
    }

    @Test("a grant revocation voids only tokens issued before it, in its own session and client", arguments: RedisTopologyUnderTest.underTest)
    func grantRevocationIsScoped(topology: RedisTopologyUnderTest) async throws {
        let fixture = try await ValidatorFixture.start(topology: topology)
        defer { Task { await fixture.stop() } }
        try await running(try fixture.validator()) { validator in
            let session = try await fixture.login()
            // Another session of the same user, through another client.
            let other = try await fixture.login(client: "other")
            let before = try fixture.token(session: session.sessionID, issuedAt: wallClockSecondsInt() - 10)
            let otherToken = try fixture.token(session: other.sessionID, issuedAt: wallClockSecondsInt() - 10)
            _ = try await fixture.store.revokeGrant(session.refreshToken, clientID: ValidatorFixture.audience, actor: "test")
            try await waitUntil("grant revocation") {
                if case .revoked = refusal(validator, before) { return true }
                return false
            }
            // Another session of the same user and client is untouched.
            #expect(refusal(validator, otherToken) == nil)
        }
    }

    @Test("a validator started after revocations sees them in its snapshot", arguments: RedisTopologyUnderTest.underTest)
    func startedAfterRevocation(topology: RedisTopologyUnderTest) async throws {
        let fixture = try await ValidatorFixture.start(topology: topology)
        defer { Task { await fixture.stop() } }
        let ended = try await fixture.login()
        let endedToken = try fixture.token(session: ended.sessionID)
        try await fixture.store.endSession(ended.sessionID, reason: "logout", actor: "test")
        let live = try await fixture.login()
        let revokedJTI = try fixture.token(session: live.sessionID, jti: "gone")
        try await fixture.store.revokeTokenID("gone", expiresAt: wallClockSecondsInt() + 300, actor: "test")
        let kept = try fixture.token(session: live.sessionID)
        try await running(try fixture.validator()) { validator in
            #expect(refusal(validator, endedToken) == .revoked(.session))
            #expect(refusal(validator, revokedJTI) == .revoked(.token))
            #expect(refusal(validator, kept) == nil)
        }
    }

    @Test("a key rotated in after start (issue 5's rotateSigningKeys, event key_rotated) is loaded; until then its tokens are refused as unknownKey; the old key keeps verifying")
    func keyReload() async throws {
        let fixture = try await ValidatorFixture.start()
        defer { Task { await fixture.stop() } }
        let session = try await fixture.login()
        let oldToken = try fixture.token(session: session.sessionID)
        try await running(try fixture.validator()) { validator in
            let now = wallClockSecondsInt()
            let key = try StoredSigningKey.generate(algorithm: .edDSA, kek: nil, createdAt: now, activatesAt: now)
            let newSigner = try key.signer(kek: nil)
            let token = try fixture.token(session: session.sessionID, signer: newSigner)
            #expect(refusal(validator, token) == .unknownKey)
            _ = try await fixture.store.rotateSigningKeys(adding: key, actor: "test")
            try await waitUntil("rotated key") { refusal(validator, token) == nil }
            #expect(refusal(validator, oldToken) == nil, "the retiring key still verifies")
        }
    }

    @Test("a withdrawn key (event key_withdrawn) stops verifying without a restart, even for a token validated and cached before; its replacement verifies")
    func keyWithdrawal() async throws {
        let fixture = try await ValidatorFixture.start()
        defer { Task { await fixture.stop() } }
        let session = try await fixture.login()
        let leaked = try fixture.token(session: session.sessionID)
        let leakedKID = fixture.signer.keyID
        try await running(try fixture.validator()) { validator in
            #expect(refusal(validator, leaked) == nil)
            #expect(refusal(validator, leaked) == nil, "served from the cache of verdicts")
            let now = wallClockSecondsInt()
            let replacement = try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: now, activatesAt: now)
            _ = try await fixture.store.withdrawSigningKey(leakedKID, replacement: replacement, actor: "test")
            try await waitUntil("withdrawn key") { refusal(validator, leaked) == .unknownKey }
            let fresh = try fixture.token(session: session.sessionID, signer: try replacement.signer(kek: nil))
            #expect(refusal(validator, fresh) == nil)
            // The reload on an unknown kid does not bring the withdrawn key back.
            #expect(refusal(validator, leaked) == .unknownKey)
        }
    }

    @Test("an unknown kid asks for a reload: a key stored without a key event is found on the next token that needs it")
    func unknownKidReloads() async throws {
        let fixture = try await ValidatorFixture.start()
        defer { Task { await fixture.stop() } }
        let session = try await fixture.login()
        try await running(try fixture.validator()) { validator in
            let now = wallClockSecondsInt()
            let key = try StoredSigningKey.generate(algorithm: .rs256, kek: nil, createdAt: now, activatesAt: now)
            // Stored with an event validators do not treat as a key change.
            try await fixture.store.saveSigningKeys([key], event: "test_write", actor: "test")
            let token = try fixture.token(session: session.sessionID, signer: try key.signer(kek: nil))
            try await waitUntil("reload on unknown kid") { refusal(validator, token) == nil }
        }
    }
}

func wallClockSecondsInt() -> Int64 { HallpassStore.wallClockMilliseconds() / 1000 }
