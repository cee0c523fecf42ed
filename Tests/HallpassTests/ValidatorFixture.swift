import Foundation
import Hallpass
import HallpassCrypto
import HallpassJOSE
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Logging
import Testing

/// A private `redis-server` (or a deployment of a ``RedisTopologyUnderTest``) with a signing
/// key and a user, a store over it, and helpers to start sessions, mint the hub's access tokens
/// and run validators.
struct ValidatorFixture: Sendable {
    static let issuer = "http://127.0.0.1:8400"
    static let audience = "notes"

    let server: RedisTestServer
    let redis: RedisClient
    let store: HallpassStore
    let signer: JWTSigner
    let userID: String
    /// The CA of a TLS server (``start(durable:algorithm:tls:)`` with certificates); validators get it.
    var caFile: String? = nil
    /// The deployment, when started on a topology; ``server`` is then its direct server.
    var deployment: TopologyFixture? = nil

    /// The URL a hub or validator of this fixture's Redis is configured with.
    var redisURL: String { deployment?.url ?? server.url }

    /// Starts Redis (durable when asked; TLS only, with the test PKI's server certificate, when
    /// given `tls`), stores an ES256 key (or `algorithm`) and creates a user.
    static func start(
        durable: Bool = false, algorithm: JWSAlgorithm = .es256, tls: TestCertificates? = nil
    ) async throws -> ValidatorFixture {
        let server = try await RedisTestServer.start(
            durable: durable,
            tls: tls.map { .init(certificateFile: $0.serverCertificateFile, keyFile: $0.serverKeyFile, caFile: $0.caFile) })
        do {
            return try await seed(server: server, url: server.url, caFile: tls?.caFile, algorithm: algorithm)
        } catch {
            await server.stop()
            throw error
        }
    }

    /// Starts a fresh deployment of `topology`, stores an ES256 key (or `algorithm`) and
    /// creates a user; the store and the validators use the deployment's URL.
    static func start(topology: RedisTopologyUnderTest, algorithm: JWSAlgorithm = .es256) async throws -> ValidatorFixture {
        let deployment = try await TopologyFixture.start(topology)
        do {
            var fixture = try await seed(server: deployment.server, url: deployment.url, caFile: nil, algorithm: algorithm)
            fixture.deployment = deployment
            return fixture
        } catch {
            await deployment.stop()
            throw error
        }
    }

    private static func seed(
        server: RedisTestServer, url: String, caFile: String?, algorithm: JWSAlgorithm
    ) async throws -> ValidatorFixture {
        let redis = try testRedisClient(url: url, caFile: caFile)
        do {
            let store = HallpassStore(redis: redis)
            let now = HallpassStore.wallClockMilliseconds() / 1000
            let key = try StoredSigningKey.generate(algorithm: algorithm, kek: nil, createdAt: now, activatesAt: now)
            _ = try await store.addFirstSigningKey(key, actor: "test")
            let user = try await store.createUser(username: "alice", passwordHash: "$argon2id$unused", actor: "test")
            return ValidatorFixture(
                server: server, redis: redis, store: store, signer: try key.signer(kek: nil), userID: user.id, caFile: caFile)
        } catch {
            await redis.shutdown()
            throw error
        }
    }

    /// Stops the client and every Redis process of the fixture.
    func stop() async {
        await redis.shutdown()
        if let deployment {
            await deployment.stop()
        } else {
            await server.stop()
        }
    }

    /// A new session of the user for `client`; returns its id and first refresh token.
    func login(client: String = ValidatorFixture.audience, policy: SingleLoginPolicy = .off) async throws -> StartedSession {
        let outcome = try await store.startSession(
            userID: userID, clientID: client, scope: "openid notes:read", timeouts: SessionTimeouts(), defaultPolicy: policy,
            actor: "test", remoteAddress: "127.0.0.1")
        guard case .started(let started) = outcome else { throw TestSupportErrorBox(description: "login: \(outcome)") }
        return started
    }

    /// An access token as the hub mints it (RFC 9068 claims), with overrides.
    func token(
        session: String, client: String = ValidatorFixture.audience, issuedAt: Int64? = nil, lifetime: Int64 = 300,
        jti: String? = nil, extra: [String: JSONValue] = [:], signer: JWTSigner? = nil
    ) throws -> String {
        let now = issuedAt ?? HallpassStore.wallClockMilliseconds() / 1000
        let tokenID = try jti ?? hexString(SecureRandom.bytes(count: 16))
        var claims: [String: JSONValue] = [
            "iss": .string(Self.issuer), "sub": .string(userID), "aud": .string(client), "exp": .integer(now + lifetime),
            "iat": .integer(now), "jti": .string(tokenID),
            "client_id": .string(client), "scope": "openid notes:read", "sid": .string(session), "auth_time": .integer(now),
            "preferred_username": "alice",
        ]
        for (name, value) in extra { claims[name] = value }
        return try (signer ?? self.signer).sign(claims: claims)
    }

    /// A validator of this fixture's Redis (or `url`), configured by `configure`.
    func validator(
        url: String? = nil, configure: (inout HallpassValidator.Configuration) -> Void = { _ in }
    ) throws -> HallpassValidator {
        var configuration = HallpassValidator.Configuration(issuer: Self.issuer, audience: Self.audience, redisURL: url ?? redisURL)
        configuration.connectTimeout = .seconds(10)
        configuration.redisCAFile = caFile
        // Tests about staleness set their own bound. For the others the default 2 s is a race
        // with the scheduler: on a loaded 2-core CI machine the mirror's task can wait longer
        // than that for a core, and a token would be refused as stale for a reason not tested.
        configuration.stalenessBound = .seconds(30)
        configure(&configuration)
        return try HallpassValidator(configuration: configuration, logger: quietLogger)
    }
}

/// Runs `validator` while `body` runs; waits until it is current first.
func running<T: Sendable>(
    _ validator: HallpassValidator, _ body: @Sendable (HallpassValidator) async throws -> T
) async throws -> T {
    let task = Task { try await validator.run() }
    defer { task.cancel() }
    let current = await validator.waitUntilCurrent(timeout: .seconds(20))
    try #require(current, "validator became current")
    let result = try await body(validator)
    task.cancel()
    _ = try? await task.value
    return result
}

/// The error `validate` throws, or `nil` when it accepts.
func refusal(_ validator: HallpassValidator, _ token: String) -> ValidationError? {
    do {
        _ = try validator.validate(token)
        return nil
    } catch {
        return error
    }
}

/// HMAC-SHA-256 (RFC 2104), to forge the HS256 tokens a validator must refuse.
func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
    var block = key.count > 64 ? Digest.sha256(key) : key
    block += [UInt8](repeating: 0, count: 64 - block.count)
    let inner = Digest.sha256(block.map { $0 ^ 0x36 } + message)
    return Digest.sha256(block.map { $0 ^ 0x5c } + inner)
}
