import HallpassCrypto
import HallpassJOSE
import Testing

@Suite("Verified-token cache: a signature verdict is reused, time and tampering are not")
struct VerifiedTokenCacheTests {
    let issuer = "http://127.0.0.1:8400"

    func setUp() throws -> (JWTSigner, JWTValidator) {
        let signer = try JWTSigner(privateKey: PrivateKey.generate(.p256))
        var rules = JWTValidator.Configuration(issuer: issuer, audience: "", leeway: 0)
        rules.checksAudience = false
        return (signer, JWTValidator(configuration: rules, keys: VerificationKeys([.init(keyID: signer.keyID, publicKey: signer.privateKey.publicKey)])))
    }

    func token(_ signer: JWTSigner, issuedAt: Int64, expiresAt: Int64) throws -> String {
        try signer.sign(claims: [
            "iss": .string(issuer), "aud": "api", "sub": "u1", "iat": .integer(issuedAt), "exp": .integer(expiresAt),
        ])
    }

    @Test("a cached token still expires: the second call, after exp, is refused as expired")
    func cachedTokenExpires() throws {
        let (signer, validator) = try setUp()
        let cache = VerifiedTokenCache<VerifiedJWT>()
        let jwt = try token(signer, issuedAt: 1_000, expiresAt: 1_300)
        let first = try cache.validate(jwt, with: validator, now: 1_100)
        #expect(first.claims.subject == "u1")
        #expect(try cache.validate(jwt, with: validator, now: 1_200) == first)
        #expect(throws: JWTError.expired) { try cache.validate(jwt, with: validator, now: 1_300) }
    }

    @Test("a tampered copy of a cached token is verified on its own and refused")
    func tamperedCopyIsNotServedFromCache() throws {
        let (signer, validator) = try setUp()
        let cache = VerifiedTokenCache<VerifiedJWT>()
        let jwt = try token(signer, issuedAt: 1_000, expiresAt: 1_300)
        _ = try cache.validate(jwt, with: validator, now: 1_100)
        let parts = jwt.split(separator: ".")
        let forged = parts[0] + "." + Base64URL.encode(Array(#"{"iss":"http://127.0.0.1:8400","aud":"api","sub":"admin","iat":1000,"exp":1300}"#.utf8)) + "." + parts[2]
        #expect(throws: JWTError.self) { try cache.validate(String(forged), with: validator, now: 1_100) }
    }

    @Test("a full cache is emptied and keeps working")
    func fullCacheKeepsWorking() throws {
        let (signer, validator) = try setUp()
        let cache = VerifiedTokenCache<VerifiedJWT>(capacity: 2)
        for expiry in Int64(1_300)..<1_305 {
            let jwt = try token(signer, issuedAt: 1_000, expiresAt: expiry)
            #expect(try cache.validate(jwt, with: validator, now: 1_100).claims.expiresAt == Double(expiry))
        }
        #expect(cache.count <= cache.capacity)
    }

    @Test("an entry is never served at or after its expiry, and is removed then")
    func entriesNeverOutliveExpiry() {
        let cache = VerifiedTokenCache<Int>(capacity: 64)
        cache.insert(1, for: "a.b.c", expiresAt: 100, now: 50)
        cache.insert(2, for: "a.b.d", expiresAt: 40, now: 50)
        #expect(cache.value(for: "a.b.c", now: 99) == 1)
        #expect(cache.value(for: "a.b.d", now: 50) == nil)
        #expect(cache.value(for: "a.b.c", now: 100) == nil)
        #expect(cache.count == 0)
    }
}
