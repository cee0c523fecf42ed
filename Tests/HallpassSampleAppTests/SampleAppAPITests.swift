import Foundation
import Hallpass
import HallpassCrypto
import HallpassJOSE
import HallpassRedis
import HallpassSampleApp
import HallpassStore
import HallpassTestSupport
import Logging
import Testing

/// A sample app as an API and as a back-channel logout receiver, run as its real binary against
/// the real hub binary.
@Suite("Sample app: /api/me and back-channel logout", .serialized)
struct SampleAppAPITests {
    @Test("/api/me: 401 with WWW-Authenticate without or with a bad token, the identity with one, 401 once revoked; back-channel logout refuses forged, nonce-bearing and ID tokens and takes a valid one")
    func apiAndBackchannel() async throws {
        let stack = try await SampleAppStack.start(apps: ["notes"])
        do {
            try await checkAPI(stack)
            try await checkBackchannel(stack)
        } catch {
            Issue.record("\(error)\n\(stack.logs())")
        }
        await stack.stop()
    }

    private func checkAPI(_ stack: SampleAppStack) async throws {
        let notes = stack.app("notes")
        let anonymous = try await HTTP.get(notes.baseURL + "/api/me")
        #expect(anonymous.status == 401)
        #expect(anonymous.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)

        let garbage = try await HTTP.get(notes.baseURL + "/api/me", bearer: "not.a.token")
        #expect(garbage.status == 401)
        #expect(garbage.header("WWW-Authenticate")?.contains("error=\"invalid_token\"") == true)

        let tokens = try await stack.passwordLogin(client: "notes")
        let accessToken = try #require(tokens["access_token"]?.stringValue)
        let me = try await HTTP.get(notes.baseURL + "/api/me", bearer: accessToken)
        #expect(me.status == 200, "\(me.text)")
        let identity = try #require(me.json)
        #expect(identity["sub"]?.stringValue == stack.userID)
        #expect(identity["client_id"]?.stringValue == "notes")
        #expect(identity["sid"]?.stringValue?.isEmpty == false)
        #expect(identity["exp"]?.numericValue ?? 0 > Date().timeIntervalSince1970)
        #expect(me.header("Cache-Control") == "no-store")

        // A forced logout reaches the app's validator through its revocation mirror.
        _ = try await SampleAppStack.runCLI(stack.cli, redisURL: stack.redis.url, ["logout", "alice"])
        let deadline = ContinuousClock.now + .seconds(2)
        var after = try await HTTP.get(notes.baseURL + "/api/me", bearer: accessToken)
        while after.status == 200, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
            after = try await HTTP.get(notes.baseURL + "/api/me", bearer: accessToken)
        }
        #expect(after.status == 401)
        #expect(after.header("WWW-Authenticate")?.contains("revoked") == true, "\(after.header("WWW-Authenticate") ?? "-")")
    }

    private func checkBackchannel(_ stack: SampleAppStack) async throws {
        let notes = stack.app("notes")
        let endpoint = notes.baseURL + "/backchannel-logout"
        let issuer = stack.hub.baseURL

        let missing = try await HTTP.post(endpoint, form: [])
        #expect(missing.status == 400)

        // The hub's own signer, read from the store (the test hub runs without a KEK).
        let redis = RedisClient(configuration: try RedisConfiguration(url: stack.redis.url), logger: Logger(label: "test"))
        let stored = try await HallpassStore(redis: redis).signingKeys()
        await redis.shutdown()
        let set = SigningKeySet(stored: stored, kek: nil, now: Int64(Date().timeIntervalSince1970))
        let hubSigner = try #require(set.signer)

        func claims(_ extra: [String: JSONValue] = [:], dropping: [String] = []) -> [String: JSONValue] {
            var claims: [String: JSONValue] = [
                "iss": .string(issuer), "aud": "notes", "iat": .integer(Int64(Date().timeIntervalSince1970)),
                "exp": .integer(Int64(Date().timeIntervalSince1970) + 120), "jti": .string(UUID().uuidString), "sub": .string(stack.userID),
                "sid": "some-session", "events": ["http://schemas.openid.net/event/backchannel-logout": [:]],
            ]
            for (name, value) in extra { claims[name] = value }
            for name in dropping { claims[name] = nil }
            return claims
        }
        func post(_ token: String) async throws -> Int {
            try await HTTP.post(endpoint, form: [("logout_token", token)]).status
        }

        // Forged: a key of the attacker's, under the hub's kid.
        let forger = try JWTSigner(privateKey: try PrivateKey.generate(.p256), keyID: hubSigner.keyID)
        #expect(try await post(try forger.sign(claims: claims(), type: "logout+jwt")) == 400)
        // Signed by the hub, but carrying a nonce, lacking the event, for another client, of another issuer, or without sid and sub.
        #expect(try await post(try hubSigner.sign(claims: claims(["nonce": "n-123"]), type: "logout+jwt")) == 400)
        #expect(try await post(try hubSigner.sign(claims: claims(dropping: ["events"]), type: "logout+jwt")) == 400)
        #expect(try await post(try hubSigner.sign(claims: claims(["aud": "tasks"]), type: "logout+jwt")) == 400)
        #expect(try await post(try hubSigner.sign(claims: claims(["iss": "http://evil.example"]), type: "logout+jwt")) == 400)
        #expect(try await post(try hubSigner.sign(claims: claims(dropping: ["sid", "sub"]), type: "logout+jwt")) == 400)
        #expect(try await post(try hubSigner.sign(claims: claims(), type: "at+jwt")) == 400)
        // An ID token the hub issued to this very app is no logout token.
        let tokens = try await stack.passwordLogin(client: "notes")
        if let idToken = tokens["id_token"]?.stringValue { #expect(try await post(idToken) == 400) }
        // A valid one is acknowledged.
        #expect(try await post(try hubSigner.sign(claims: claims(), type: "logout+jwt")) == 200)
        #expect(try await post(try hubSigner.sign(claims: claims(dropping: ["sid"]), type: nil)) == 200)
    }
}

/// ``LogoutTokenVerifier`` on its own: each rule of OIDC Back-Channel Logout 1.0 section 2.6.
@Suite("LogoutTokenVerifier")
struct LogoutTokenVerifierTests {
    let signer: JWTSigner
    let keys: VerificationKeys
    let verifier = LogoutTokenVerifier(issuer: "https://hub.example", audience: "notes")
    let now = Date().timeIntervalSince1970

    init() throws {
        signer = try JWTSigner(privateKey: try PrivateKey.generate(.p256))
        keys = VerificationKeys([.init(keyID: signer.keyID, publicKey: signer.privateKey.publicKey)])
    }

    func token(_ changes: [String: JSONValue?] = [:], type: String? = "logout+jwt") throws -> String {
        var claims: [String: JSONValue] = [
            "iss": "https://hub.example", "aud": ["notes", "tasks"], "iat": .number(now), "jti": "j1", "sid": "s1", "sub": "u1",
            "events": ["http://schemas.openid.net/event/backchannel-logout": [:]],
        ]
        for (name, value) in changes { claims[name] = value }
        return try signer.sign(claims: claims, type: type)
    }

    @Test("a valid logout token yields sid, sub and jti")
    func valid() throws {
        let logout = try verifier.verify(try token(), keys: keys, now: now)
        #expect(logout.sessionID == "s1")
        #expect(logout.subject == "u1")
        #expect(logout.tokenID == "j1")
        #expect(try verifier.verify(try token(["sid": nil]), keys: keys, now: now).sessionID == nil)
        #expect(try verifier.verify(try token(type: nil), keys: keys, now: now).sessionID == "s1")
    }

    @Test("each broken rule is refused with its own error")
    func refusals() throws {
        #expect(throws: LogoutTokenVerifier.LogoutTokenError.nonceNotAllowed) {
            try verifier.verify(try token(["nonce": "abc"]), keys: keys, now: now)
        }
        #expect(throws: LogoutTokenVerifier.LogoutTokenError.missingEvent) {
            try verifier.verify(try token(["events": nil]), keys: keys, now: now)
        }
        #expect(throws: LogoutTokenVerifier.LogoutTokenError.missingEvent) {
            try verifier.verify(try token(["events": ["http://schemas.openid.net/event/backchannel-logout": "yes"]]), keys: keys, now: now)
        }
        #expect(throws: LogoutTokenVerifier.LogoutTokenError.missingSubjectAndSession) {
            try verifier.verify(try token(["sid": nil, "sub": nil]), keys: keys, now: now)
        }
        #expect(throws: LogoutTokenVerifier.LogoutTokenError.wrongType) {
            try verifier.verify(try token(type: "JWT"), keys: keys, now: now)
        }
        #expect(throws: LogoutTokenVerifier.LogoutTokenError.badIssuedAt) {
            try verifier.verify(try token(["iat": .number(now - 3600)]), keys: keys, now: now)
        }
        #expect(throws: LogoutTokenVerifier.LogoutTokenError.badIssuedAt) {
            try verifier.verify(try token(["iat": nil]), keys: keys, now: now)
        }
        #expect(throws: LogoutTokenVerifier.LogoutTokenError.self) {
            try verifier.verify(try token(["aud": "billing"]), keys: keys, now: now)
        }
        #expect(throws: LogoutTokenVerifier.LogoutTokenError.self) {
            try verifier.verify(try token(["iss": "https://other.example"]), keys: keys, now: now)
        }
        let stranger = try JWTSigner(privateKey: try PrivateKey.generate(.p256), keyID: signer.keyID)
        let forged = try stranger.sign(claims: ["iss": "https://hub.example", "aud": "notes", "iat": .number(now), "sid": "s1",
            "events": ["http://schemas.openid.net/event/backchannel-logout": [:]]], type: "logout+jwt")
        #expect(throws: LogoutTokenVerifier.LogoutTokenError.self) { try verifier.verify(forged, keys: keys, now: now) }
    }
}
