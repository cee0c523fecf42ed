import Foundation
import Hallpass
import HallpassCrypto
import HallpassHummingbird
import HallpassJOSE
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Logging
import Testing

/// RFC 9470 through the middleware, over real HTTP on loopback (`.live`): a requirement of a
/// second factor and/or a recent sign-in passes a token that meets it and answers the exact
/// `insufficient_user_authentication` challenge to one that does not.
@Suite("HallpassMiddleware: step-up requirements (RFC 9470)", .serialized)
struct StepUpMiddlewareTests {
    static let issuer = "http://127.0.0.1:8400"

    @Test("acr, max_age and both: pass-through when met, the exact challenge and JSON body when not; old tokens refused by a requirement, accepted without")
    func requirements() async throws {
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
            userID: user.id, clientID: "billing", scope: "openid", timeouts: SessionTimeouts(), defaultPolicy: .off,
            actor: "test", remoteAddress: "127.0.0.1")
        else { throw TestSupportErrorBox(description: "login") }
        /// A token as the hub mints it: `old` has no amr, acr or auth_time (before this change).
        func token(amr: [String]? = ["pwd"], acr: String? = "pwd", authTime: Int64? = now, old: Bool = false) throws -> String {
            var claims: [String: JSONValue] = [
                "iss": .string(Self.issuer), "sub": .string(user.id), "aud": "billing", "exp": .integer(now + 300),
                "iat": .integer(now), "jti": .string(hexString(try SecureRandom.bytes(count: 16))), "client_id": "billing",
                "scope": "openid", "sid": .string(session.sessionID), "preferred_username": "alice",
            ]
            if !old {
                if let amr { claims["amr"] = .array(amr.map(JSONValue.string)) }
                if let acr { claims["acr"] = .string(acr) }
                if let authTime { claims["auth_time"] = .integer(authTime) }
            }
            return try signer.sign(claims: claims)
        }

        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var configuration = HallpassValidator.Configuration(issuer: Self.issuer, audience: "billing", redisURL: server.url)
        configuration.stalenessBound = .seconds(30)
        configuration.connectTimeout = .seconds(10)
        let validator = try HallpassValidator(configuration: configuration, logger: logger)
        let background = Task { try await validator.run() }
        defer { background.cancel() }
        #expect(await validator.waitUntilCurrent(timeout: .seconds(20)))

        let router = Router(context: HallpassRequestContext.self)
        @Sendable func describe(_ context: HallpassRequestContext) throws -> String {
            let identity = try context.requireIdentity()
            return "\(identity.authenticationMethods.joined(separator: "+")) \(identity.authenticationContext ?? "-") \(identity.authTime.map(String.init) ?? "-")"
        }
        router.group("plain").add(middleware: HallpassMiddleware(validator: validator)).get { _, context in try describe(context) }
        router.group("mfa").add(middleware: HallpassMiddleware(validator: validator, requirement: .secondFactor()))
            .get { _, context in try describe(context) }
        router.group("recent").add(middleware: HallpassMiddleware(validator: validator, requirement: .init(maxAge: .seconds(300))))
            .get { _, context in try describe(context) }
        router.group("both").add(middleware: HallpassMiddleware(validator: validator, requirement: .secondFactor(maxAge: .seconds(300))))
            .get { _, context in try describe(context) }
        // The separate middleware after HallpassMiddleware, with a realm, in a nested group.
        router.group("api").add(middleware: HallpassMiddleware(validator: validator, realm: "billing"))
            .group("invoices").add(middleware: HallpassRequirementMiddleware(.secondFactor(maxAge: .seconds(600)), realm: "billing"))
            .get { _, context in try describe(context) }
        // The separate middleware without HallpassMiddleware before it: no identity, a bare challenge.
        router.group("misplaced").add(middleware: HallpassRequirementMiddleware(.secondFactor())).get { _, _ in "unreachable" }
        let app = Application(router: router, logger: logger)

        let mfa = try token(amr: ["pwd", "otp", "mfa"], acr: "mfa")
        let mfaByAMROnly = try token(amr: ["pwd", "otp", "mfa"], acr: nil)
        let password = try token()
        let staleMFA = try token(amr: ["pwd", "otp", "mfa"], acr: "mfa", authTime: now - 1000)
        let stalePassword = try token(authTime: now - 1000)
        let old = try token(old: true)

        let acrOnly = #"Bearer error="insufficient_user_authentication", error_description="A second factor is required", acr_values="mfa""#
        let ageOnly = #"Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="300""#
        let bothUnmet =
            #"Bearer error="insufficient_user_authentication", error_description="A second factor and a more recent authentication are required", acr_values="mfa", max_age="300""#
        let ageUnmetOfBoth =
            #"Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", acr_values="mfa", max_age="300""#
        let acrUnmetOfBoth = #"Bearer error="insufficient_user_authentication", error_description="A second factor is required", acr_values="mfa", max_age="300""#

        try await app.test(.live) { client in
            func get(_ path: String, _ token: String?) async throws -> (HTTPResponse.Status, String?, String) {
                let headers: HTTPFields = token.map { [.authorization: "Bearer \($0)"] } ?? [:]
                return try await client.execute(uri: path, method: .get, headers: headers) { response in
                    (response.status, response.headers[.wwwAuthenticate], String(buffer: response.body))
                }
            }
            // Without a requirement every valid token passes, an old one too, with empty claims.
            #expect(try await get("/plain", old) == (.ok, nil, " - -"))
            #expect(try await get("/plain", password) == (.ok, nil, "pwd pwd \(now)"))

            // A second factor.
            #expect(try await get("/mfa", mfa) == (.ok, nil, "pwd+otp+mfa mfa \(now)"))
            #expect(try await get("/mfa", mfaByAMROnly).0 == .ok)
            #expect(try await get("/mfa", staleMFA).0 == .ok)
            let refused = try await get("/mfa", password)
            #expect(refused.0 == .unauthorized)
            #expect(refused.1 == acrOnly)
            let body = try #require(try JSONParser.parse(Array(refused.2.utf8)).objectValue)
            #expect(body == ["error": "insufficient_user_authentication", "error_description": "A second factor is required", "acr_values": "mfa"])
            #expect(try await get("/mfa", old) == (.unauthorized, acrOnly, refused.2))

            // A recent sign-in.
            #expect(try await get("/recent", password).0 == .ok)
            #expect(try await get("/recent", mfa).0 == .ok)
            #expect(try await get("/recent", stalePassword).1 == ageOnly)
            #expect(try await get("/recent", old).1 == ageOnly)
            let ageBody = try #require(try JSONParser.parse(Array(try await get("/recent", stalePassword).2.utf8)).objectValue)
            #expect(ageBody["max_age"] == .integer(300))

            // Both: the challenge names both, whichever part is unmet.
            #expect(try await get("/both", mfa).0 == .ok)
            #expect(try await get("/both", password).1 == acrUnmetOfBoth)
            #expect(try await get("/both", staleMFA).1 == ageUnmetOfBoth)
            #expect(try await get("/both", stalePassword).1 == bothUnmet)
            #expect(try await get("/both", old).1 == bothUnmet)

            // The separate middleware: the realm leads, invalid tokens keep their own challenge.
            #expect(try await get("/api/invoices", mfa).0 == .ok)
            #expect(
                try await get("/api/invoices", password).1
                    == #"Bearer realm="billing", error="insufficient_user_authentication", error_description="A second factor is required", acr_values="mfa", max_age="600""#)
            let invalid = try await get("/api/invoices", "not-a-jwt")
            #expect(invalid.1?.hasPrefix(#"Bearer realm="billing", error="invalid_token""#) == true)
            let invalidBody = try #require(try JSONParser.parse(Array(invalid.2.utf8)).objectValue)
            #expect(invalidBody["error"] == "invalid_token")
            #expect(invalidBody["error_description"]?.stringValue?.hasPrefix("malformed token") == true)
            #expect(try await get("/api/invoices", nil) == (.unauthorized, #"Bearer realm="billing""#, ""), "no token: no error, no body")
            #expect(try await get("/misplaced", mfa) == (.unauthorized, "Bearer", ""))
        }
        background.cancel()
        _ = try? await background.value
        await redis.shutdown()
        await server.stop()
    }
}
