import Foundation
import Hallpass
import HallpassCrypto
@testable import HallpassHummingbird
import HallpassJOSE
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Logging
import Testing

@Suite("HallpassMiddleware: 401 with a Bearer challenge per failure class, identity passed through", .serialized)
struct MiddlewareTests {
    static let issuer = "http://127.0.0.1:8400"

    @Test("success passes the identity; missing, non-Bearer, malformed, bad signature, expired, wrong audience, unknown key, revoked and stale each get 401 with WWW-Authenticate")
    func failureClasses() async throws {
        let server = try await RedisTestServer.start()
        var redisConfiguration = try RedisConfiguration(url: server.url)
        redisConfiguration.connectTimeout = .seconds(20)
        redisConfiguration.commandTimeout = .seconds(20)
        let redis = RedisClient(configuration: redisConfiguration)
        let store = HallpassStore(redis: redis)
        let now = HallpassStore.wallClockMilliseconds() / 1000
        let key = try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: now, activatesAt: now)
        _ = try await store.addFirstSigningKey(key, actor: "test")
        let signer = try key.signer(kek: nil)
        let user = try await store.createUser(username: "alice", passwordHash: "$argon2id$unused", actor: "test")
        guard case .started(let session) = try await store.startSession(
            userID: user.id, clientID: "notes", scope: "openid notes:read", timeouts: SessionTimeouts(), defaultPolicy: .off,
            actor: "test", remoteAddress: "127.0.0.1")
        else { throw TestSupportErrorBox(description: "login") }
        @Sendable func token(_ overrides: [String: JSONValue] = [:], signer: JWTSigner? = nil) throws -> String {
            var claims: [String: JSONValue] = [
                "iss": .string(Self.issuer), "sub": .string(user.id), "aud": "notes", "exp": .integer(now + 300),
                "iat": .integer(now), "jti": .string(hexString(try SecureRandom.bytes(count: 16))), "client_id": "notes",
                "scope": "openid notes:read", "sid": .string(session.sessionID), "preferred_username": "alice",
            ]
            for (name, value) in overrides { claims[name] = value }
            return try (signer ?? key.signer(kek: nil)).sign(claims: claims)
        }
        _ = signer

        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var configuration = HallpassValidator.Configuration(issuer: Self.issuer, audience: "notes", redisURL: server.url)
        // Longer than the default 2 s: with the whole suite running on a 2-core CI machine the
        // mirror's task has waited more than 2 s for a core, and the success cases failed as stale.
        configuration.stalenessBound = .seconds(8)
        configuration.connectTimeout = .seconds(10)
        let validator = try HallpassValidator(configuration: configuration, logger: logger)
        let background = Task { try await validator.run() }
        defer { background.cancel() }
        #expect(await validator.waitUntilCurrent(timeout: .seconds(20)))

        let router = Router(context: HallpassRequestContext.self)
        router.add(middleware: HallpassMiddleware(validator: validator))
        router.get("/me") { _, context -> String in
            let identity = try context.requireIdentity()
            return "\(identity.subject) \(identity.username ?? "-") \(identity.scopes.joined(separator: ","))"
        }
        let app = Application(router: router, logger: logger)

        let good = try token()
        let revoked = try token(["jti": "revoked-jti"])
        let stranger = try JWTSigner(privateKey: PrivateKey.generate(.p256))
        let parts = good.split(separator: ".")
        try await store.revokeTokenID("revoked-jti", expiresAt: nil, actor: "test")

        try await app.test(.router) { client in
            // Success, and the scheme in any case.
            for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
                try await client.execute(uri: "/me", method: .get, headers: [.authorization: "\(scheme) \(good)"]) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == "\(user.id) alice openid,notes:read")
                }
            }
            // No token: a bare challenge.
            try await client.execute(uri: "/me", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
            }
            try await waitUntil("the revocation to reach the validator") { (try? validator.validate(revoked)) == nil }
            let failures: [(String, String, String)] = [
                ("Basic dXNlcjpwdw==", "malformed", "not a Bearer token"),
                ("Bearer ", "malformed", "not a Bearer token"),
                ("Bearer not-a-jwt", "malformed", "malformed token"),
                ("Bearer \(parts[0]).\(parts[1]).AAAA", "bad signature", "signature does not verify"),
                ("Bearer \(try token(["exp": .integer(now - 600), "iat": .integer(now - 900)]))", "expired", "expired"),
                ("Bearer \(try token(["aud": "billing"]))", "wrong audience", "audience"),
                ("Bearer \(try token(["iss": "http://evil.example"]))", "wrong issuer", "issuer"),
                ("Bearer \(try token(signer: stranger))", "unknown key", "unknown key"),
                ("Bearer \(try stranger.sign(claims: ["iss": .string(Self.issuer)], type: "JWT"))", "wrong type", "type"),
                ("Bearer \(revoked)", "revoked", "revoked (token)"),
            ]
            for (header, name, fragment) in failures {
                try await client.execute(uri: "/me", method: .get, headers: [.authorization: header]) { response in
                    #expect(response.status == .unauthorized, "\(name)")
                    let challenge = response.headers[.wwwAuthenticate] ?? ""
                    #expect(challenge.hasPrefix("Bearer error=\"invalid_token\", error_description=\""), "\(name): \(challenge)")
                    #expect(challenge.contains(fragment), "\(name): \(challenge)")
                }
            }
            // Stale: Redis gone beyond the bound.
            await server.kill()
            try await waitUntil("the validator to go stale", seconds: 60) { validator.status == .stale }
            try await client.execute(uri: "/me", method: .get, headers: [.authorization: "Bearer \(good)"]) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate]?.contains("revocation state is not current") == true)
            }
        }
        background.cancel()
        _ = try? await background.value
        await redis.shutdown()
        await server.stop()
    }

    @Test("bearerToken parsing: scheme case, spaces, other schemes")
    func bearerParsing() {
        #expect(HallpassMiddleware<HallpassRequestContext>.bearerToken("Bearer abc") == "abc")
        #expect(HallpassMiddleware<HallpassRequestContext>.bearerToken("bearer   abc  ") == "abc")
        #expect(HallpassMiddleware<HallpassRequestContext>.bearerToken("Bearerabc") == nil)
        #expect(HallpassMiddleware<HallpassRequestContext>.bearerToken("Basic abc") == nil)
        #expect(HallpassMiddleware<HallpassRequestContext>.bearerToken("Bearer    ") == nil)
    }
}
