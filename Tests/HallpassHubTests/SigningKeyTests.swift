import HallpassCrypto
import HallpassHub
import HallpassJOSE
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("Signing keys at rest")
struct SigningKeyTests {
    /// The signing-key hash of the schema (`hp:{hg}:keys`).
    static let keysHash = "hp:{hg}:keys"

    @Test("with a key-encryption key the stored private key is sealed, and a hub with another KEK cannot sign but still publishes the JWKS")
    func sealedKeysAndAWrongKEK() async throws {
        let redis = try await RedisTestServer.start()
        do {
            let kek = SymmetricKey.generate()
            var configuration = HubConfiguration.forTests(redis: redis)
            configuration.keyEncryptionKey = kek
            try await runHub(configuration, redis: redis) { a in
                let user = try await a.addUser("emil", password: "pw-emil-1")
                let secret = try #require(try await a.addClient("api"))
                let tokens = try await a.loginTokens("emil", password: "pw-emil-1", client: "api", secret: secret)

                // What an attacker with a Redis dump sees: no PEM, no private key material.
                let raw = try await a.store.redis.send(RedisCommand("HGETALL", Self.keysHash))
                let values = try #require(raw.array).compactMap(\.string)
                #expect(values.count == 2, "one key: kid and record")
                let recordText = try #require(values.last)
                let record = try #require(try JSONParser.parse(Array(recordText.utf8)).objectValue)
                #expect(record["sealed"] == true)
                let sealed = try #require(record["private"]?.stringValue)
                #expect(!sealed.contains("BEGIN"))
                #expect(!sealed.contains("PRIVATE KEY"))
                #expect(!values.joined().contains("-----"))
                // And it is really sealed: it opens under A's key-encryption key only.
                let stored = try #require(try await a.store.signingKeys().first)
                #expect(throws: SigningKeyError.self) { try stored.signer(kek: nil) }
                #expect(throws: SigningKeyError.self) { try stored.signer(kek: SymmetricKey.generate()) }
                #expect(try stored.signer(kek: kek).keyID == stored.keyID)

                var other = HubConfiguration.forTests(redis: redis)
                other.keyEncryptionKey = SymmetricKey.generate()
                try await runHub(other, redis: redis, waitForReadiness: false) { b in
                    // Once B has loaded the keys it publishes the same JWKS as A...
                    let jwksA = try await a.get(HubPath.jwks)
                    try await waitUntil("B to publish the JWKS", seconds: 20, toleratingErrors: true) { try await b.get(HubPath.jwks).status == 200 }
                    let jwksB = try await b.get(HubPath.jwks)
                    #expect(jwksB.json == jwksA.json)
                    #expect(jwksB.json?.objectValue?["keys"]?.arrayValue?.count == 1)
                    // ...but is not ready and refuses to issue tokens.
                    let ready = try await b.get("/readyz")
                    #expect(ready.status == 503)
                    expectError(
                        try await b.login("emil", password: "pw-emil-1", client: "api", secret: secret), status: 503,
                        code: "temporarily_unavailable")
                    expectError(
                        try await b.refresh(tokens.refresh, client: "api", secret: secret), status: 503, code: "temporarily_unavailable")

                    // The refused requests changed nothing: the session A issued is intact
                    // (not ended by newest-wins) and its refresh token was not rotated.
                    #expect(try await a.store.sessions(ofUser: user.id).map(\.id) == [tokens.sessionID])
                    #expect(try await a.isActive(tokens.refresh, client: "api", secret: secret))
                    // B still verifies tokens: it needs only the public keys.
                    #expect(try await b.isActive(tokens.access, client: "api", secret: secret))
                }
                _ = try await a.refreshTokens(tokens.refresh, client: "api", secret: secret)
                #expect(try await a.get("/readyz").status == 200)
            }
        } catch {
            await redis.stop()
            throw error
        }
        await redis.stop()
    }
}
