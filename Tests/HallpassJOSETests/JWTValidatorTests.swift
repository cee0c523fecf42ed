import HallpassCrypto
import HallpassJOSE
import HallpassTestSupport
import Testing

/// One signer and a validator that trusts it, plus well-formed defaults that every rule test
/// changes in exactly one place, so a test fails only for the rule it is about.
struct Scenario {
    static let issuer = "https://sso.hallpass.test"
    static let audience = "https://api.hallpass.test"
    static let now: Double = 1_700_000_000

    let key: PrivateKey
    let signer: JWTSigner
    var validator: JWTValidator

    init(_ type: KeyType) throws {
        key = try SharedKeys.key(type)
        signer = try JWTSigner(privateKey: key)
        // The validator trusts one key of each type, so a token naming another trusted key's
        // kid is a realistic attack, not a lookup miss.
        let trusted = try KeyType.allCases.map { type in
            let key = try SharedKeys.key(type)
            return VerificationKeys.Key(keyID: try JWTSigner(privateKey: key).keyID, publicKey: key.publicKey)
        }
        validator = JWTValidator(
            configuration: .init(issuer: Self.issuer, audience: Self.audience),
            keys: VerificationKeys(trusted)
        )
    }

    var kid: String { signer.keyID }
    var alg: String { signer.algorithm.rawValue }

    var claims: [String: JSONValue] {
        [
            "iss": .string(Self.issuer),
            "aud": .string(Self.audience),
            "sub": "user-1234",
            "jti": "0d9c1f5e-token",
            "iat": .integer(Int64(Self.now) - 5),
            "nbf": .integer(Int64(Self.now) - 5),
            "exp": .integer(Int64(Self.now) + 300),
            "scope": "openid profile",
        ]
    }

    var header: [String: JSONValue] { ["alg": .string(alg), "kid": .string(kid), "typ": "at+jwt"] }

    func token(claims: [String: JSONValue]? = nil, header: [String: JSONValue]? = nil) throws -> String {
        try signer.sign(header: header ?? self.header, claims: claims ?? self.claims)
    }

    /// The default claims with `name` set to `value`, or removed when `value` is nil.
    func claims(_ name: String, _ value: JSONValue?) -> [String: JSONValue] {
        var claims = self.claims
        claims[name] = value
        return claims
    }

    func header(_ name: String, _ value: JSONValue?) -> [String: JSONValue] {
        var header = self.header
        header[name] = value
        return header
    }

    /// Validates by both roads, the full one and the lean access-token one, and records an
    /// issue unless they agree: the same error, or the same value for every claim the lean
    /// road keeps. So each rule test below covers both.
    func validate(
        _ token: String, now: Double = Scenario.now, sourceLocation: SourceLocation = #_sourceLocation
    ) throws(JWTError) -> VerifiedJWT {
        let lean = Result { () throws(JWTError) in try validator.validateAccessToken(token, now: now) }
        let full = Result { () throws(JWTError) in try validator.validate(token, now: now) }
        switch (full, lean) {
        case (.success(let full), .success(let lean)):
            for name in AccessTokenClaims.Name.allCases {
                #expect(lean.value(of: name) == full.claims[name.claimName], "\(name.claimName)", sourceLocation: sourceLocation)
            }
        case (.failure(let full), .failure(let lean)):
            #expect(lean == full, sourceLocation: sourceLocation)
        default:
            Issue.record("the full road gave \(full), the access-token road \(lean)", sourceLocation: sourceLocation)
        }
        return try full.get()
    }

    func segments(_ token: String) -> [String] {
        token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }
}

@Suite("JWTValidator: every rule refuses its own bad token")
struct JWTValidatorTests {
    // MARK: The token that passes.

    @Test("a well-formed token is accepted with its claims", arguments: KeyType.allCases)
    func accepted(type: KeyType) throws {
        let scenario = try Scenario(type)
        let verified = try scenario.validate(try scenario.token())
        #expect(verified.claims.members == scenario.claims)
        #expect(verified.claims.issuer == Scenario.issuer)
        #expect(verified.claims.subject == "user-1234")
        #expect(verified.claims.audience == [Scenario.audience])
        #expect(verified.claims.expiresAt == Scenario.now + 300)
        #expect(verified.claims.tokenID == "0d9c1f5e-token")
        #expect(verified.algorithm == JWSAlgorithm(keyType: type))
        #expect(verified.keyID == scenario.kid)
        #expect(verified.header == scenario.header)
        // The default signing entry point produces the same acceptable shape.
        let simple = try scenario.signer.sign(claims: scenario.claims)
        #expect(try scenario.validate(simple).claims.members == scenario.claims)
    }

    @Test("amr, acr, auth_time and preferred_username read alike on both roads; absent, they read as empty")
    func authenticationClaims() throws {
        let scenario = try Scenario(.p256)
        var claims = scenario.claims
        claims["amr"] = ["pwd", "otp", "mfa"]
        claims["acr"] = "mfa"
        claims["auth_time"] = .integer(Int64(Scenario.now) - 60)
        claims["preferred_username"] = "alice"
        let token = try scenario.token(claims: claims)
        let full = try scenario.validate(token).claims
        let lean = try scenario.validator.validateAccessToken(token, now: Scenario.now)
        #expect(full.authenticationMethods == ["pwd", "otp", "mfa"] && lean.authenticationMethods == full.authenticationMethods)
        #expect(full.authenticationContext == "mfa" && lean.authenticationContext == full.authenticationContext)
        #expect(full.authTime == Scenario.now - 60 && lean.authTime == full.authTime)
        #expect(full.username == "alice" && lean.username == full.username)
        #expect(lean.value(of: .authenticationMethods) == ["pwd", "otp", "mfa"])

        let old = try scenario.token()
        let oldFull = try scenario.validate(old).claims
        let oldLean = try scenario.validator.validateAccessToken(old, now: Scenario.now)
        #expect(oldFull.authenticationMethods.isEmpty && oldLean.authenticationMethods.isEmpty)
        #expect(oldFull.authenticationContext == nil && oldLean.authenticationContext == nil)
        #expect(oldFull.authTime == nil && oldLean.authTime == nil)
        // A duplicate is refused on both roads alike, as for every claim the lean road keeps.
        let duplicate = #"{"iss":"\#(Scenario.issuer)","aud":"\#(Scenario.audience)","exp":\#(Int64(Scenario.now) + 300),"acr":"pwd","acr":"mfa"}"#
        let forged = try scenario.signer.sign(payload: Array(duplicate.utf8))
        #expect(throws: JWTError.self) { try scenario.validate(forged) }
    }

    @Test("a substring and raw bytes validate like a string")
    func otherInputForms() throws {
        let scenario = try Scenario(.p256)
        let token = try scenario.token()
        let wrapped = " " + token + " "
        let inner = wrapped.dropFirst().dropLast()
        #expect(try scenario.validator.validate(inner, now: Scenario.now).keyID == scenario.kid)
        let bytes = Array(token.utf8)
        let verified = try bytes.withUnsafeBufferPointer { buffer in
            try scenario.validator.validate(bytes: buffer, now: Scenario.now)
        }
        #expect(verified.keyID == scenario.kid)
    }

    // MARK: Size.

    @Test("tokens over the size limit are refused before parsing")
    func tooLarge() throws {
        var scenario = try Scenario(.p256)
        let padding = String(repeating: "x", count: 6_200)
        let large = try scenario.token(claims: scenario.claims("pad", .string(padding)))
        #expect(large.utf8.count > 8192 && large.utf8.count < 9000)
        expectJWTError(.tooLarge(limit: 8192)) { () throws(JWTError) in try scenario.validate(large) }
        let huge = try scenario.token(claims: scenario.claims("pad", .string(String(repeating: "y", count: 77_000))))
        #expect(huge.utf8.count > 100 * 1024)
        expectJWTError(.tooLarge(limit: 8192)) { () throws(JWTError) in try scenario.validate(huge) }
        // Bytes that are not even a token are refused for size alone.
        expectJWTError(.tooLarge(limit: 8192)) { () throws(JWTError) in
            try scenario.validate(String(repeating: ".", count: 100 * 1024))
        }
        let bytes = Array(huge.utf8)
        #expect(throws: JWTError.tooLarge(limit: 8192)) {
            try bytes.withUnsafeBufferPointer { try scenario.validator.validate(bytes: $0, now: Scenario.now) }
        }

        // The same tokens are otherwise valid: raising the limit accepts them.
        scenario.validator.configuration.maximumTokenSize = 200_000
        #expect(try scenario.validate(large).claims["pad"] == .string(padding))
        #expect(try scenario.validate(huge).claims.subject == "user-1234")
    }

    @Test("the size limit is inclusive")
    func sizeBoundary() throws {
        var scenario = try Scenario(.ed25519)
        let token = try scenario.token()
        scenario.validator.configuration.maximumTokenSize = token.utf8.count
        #expect(try scenario.validate(token).keyID == scenario.kid)
        scenario.validator.configuration.maximumTokenSize = token.utf8.count - 1
        expectJWTError(.tooLarge(limit: token.utf8.count - 1)) { () throws(JWTError) in try scenario.validate(token) }
    }

    // MARK: Shape.

    @Test("anything but three segments is malformed")
    func segmentCount() throws {
        let scenario = try Scenario(.p256)
        let valid = try scenario.token()
        let cases: [(String, Int)] = [
            ("", 0),
            ("abc", 1),
            ("eyJhbGciOiJFUzI1NiJ9", 1),
            ("a.b", 2),
            ("a.b.c.d", 4),
            (valid + ".", 4),
            (valid + "." + scenario.segments(valid)[2], 4),
            ("....", 5),
        ]
        for (token, count) in cases {
            expectJWTError(.malformed(.segmentCount(count))) { () throws(JWTError) in try scenario.validate(token) }
        }
        // Three empty segments pass the count and fail on the empty header.
        expectJWTError(.malformed(.json(.header, .unexpectedEnd))) { () throws(JWTError) in try scenario.validate("..") }
    }

    @Test("a header segment that is not canonical base64url is malformed")
    func headerBase64() throws {
        let scenario = try Scenario(.p256)
        let parts = scenario.segments(try scenario.token())
        for header in [parts[0] + "=", parts[0] + "==", "+" + parts[0].dropFirst(), parts[0] + "\n", " " + parts[0]] {
            let token = header + "." + parts[1] + "." + parts[2]
            expectJWTError(.malformed(.base64url(.header))) { () throws(JWTError) in try scenario.validate(token) }
        }
    }

    @Test("a payload segment that is not canonical base64url is malformed, even when signed")
    func payloadBase64() throws {
        let scenario = try Scenario(.p256)
        let parts = scenario.segments(try scenario.token())
        // The signature covers the bad segment, so only the encoding rule can refuse it.
        for payload in [parts[1] + "=", parts[1] + "/x", "-" + parts[1].dropFirst() + "+", parts[1] + " "] {
            let token = try Craft.token(header: parts[0], payload: payload, signedBy: scenario.key)
            expectJWTError(.malformed(.base64url(.payload))) { () throws(JWTError) in try scenario.validate(token) }
        }
    }

    @Test("a signature segment that is not canonical base64url is malformed")
    func signatureBase64() throws {
        let scenario = try Scenario(.p256)
        let parts = scenario.segments(try scenario.token())
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        // 64 signature bytes end in a 2-character group whose last 4 bits are zero; setting
        // one of them decodes to the same bytes in a form a canonical encoder never writes.
        let last = alphabet.firstIndex(of: parts[2].last!)!
        let nonCanonical = String(parts[2].dropLast()) + String(alphabet[last | 1])
        for signature in [parts[2] + "=", parts[2] + "+", "*" + parts[2].dropFirst(), nonCanonical] {
            let token = parts[0] + "." + parts[1] + "." + signature
            expectJWTError(.malformed(.base64url(.signature))) { () throws(JWTError) in try scenario.validate(token) }
        }
    }

    @Test("a header that is not a JSON object is malformed")
    func headerNotJSON() throws {
        let scenario = try Scenario(.p256)
        let payload = scenario.segments(try scenario.token())[1]
        let cases: [(String, JWTError)] = [
            ("hello", .malformed(.json(.header, .unexpectedByte(offset: 0)))),
            ("{\"alg\":\"ES256\",}", .malformed(.json(.header, .unexpectedByte(offset: 15)))),
            ("{\"alg\":\"ES256\"} x", .malformed(.json(.header, .trailingData(offset: 16)))),
            ("[\"alg\",\"ES256\"]", .malformed(.notAnObject(.header))),
            ("\"ES256\"", .malformed(.notAnObject(.header))),
            ("null", .malformed(.notAnObject(.header))),
        ]
        for (header, expected) in cases {
            let token = try Craft.token(header: Craft.b64(header), payload: payload, signedBy: scenario.key)
            expectJWTError(expected) { () throws(JWTError) in try scenario.validate(token) }
        }
    }

    @Test("a payload that is not a JSON object is malformed, even when signed")
    func payloadNotJSON() throws {
        let scenario = try Scenario(.p256)
        let header = Craft.b64(.object(scenario.header))
        let cases: [(String, JWTError)] = [
            ("{", .malformed(.json(.payload, .unexpectedEnd))),
            ("{\"sub\":\"a\",}", .malformed(.json(.payload, .unexpectedByte(offset: 11)))),
            ("[1,2]", .malformed(.notAnObject(.payload))),
            ("\"claims\"", .malformed(.notAnObject(.payload))),
        ]
        for (payload, expected) in cases {
            let token = try Craft.token(header: header, payload: Craft.b64(payload), signedBy: scenario.key)
            expectJWTError(expected) { () throws(JWTError) in try scenario.validate(token) }
        }
    }

    @Test("a header that repeats a member is malformed")
    func duplicateHeaderMember() throws {
        let scenario = try Scenario(.p256)
        let payload = scenario.segments(try scenario.token())[1]
        // Two `alg`s: a parser that kept the first would see "none", one that kept the last ES256.
        let twoAlgs = "{\"alg\":\"none\",\"kid\":\"\(scenario.kid)\",\"typ\":\"at+jwt\",\"alg\":\"ES256\"}"
        let twoKids = "{\"alg\":\"ES256\",\"kid\":\"\(scenario.kid)\",\"typ\":\"at+jwt\",\"kid\":\"other\"}"
        for (header, name) in [(twoAlgs, "alg"), (twoKids, "kid")] {
            let token = try Craft.token(header: Craft.b64(header), payload: payload, signedBy: scenario.key)
            expectJWTError(.malformed(.json(.header, .duplicateMember(name)))) { () throws(JWTError) in
                try scenario.validate(token)
            }
        }
    }

    @Test("a payload that repeats a claim is malformed, even when signed")
    func duplicateClaim() throws {
        let scenario = try Scenario(.p256)
        let header = Craft.b64(.object(scenario.header))
        let claims = JSONValue.object(scenario.claims).serializedString
        for (name, value) in [("sub", "\"admin\""), ("aud", "\"https://other.test\""), ("exp", "9999999999")] {
            let repeated = String(claims.dropLast()) + ",\"\(name)\":\(value)}"
            let token = try Craft.token(header: header, payload: Craft.b64(repeated), signedBy: scenario.key)
            expectJWTError(.malformed(.json(.payload, .duplicateMember(name)))) { () throws(JWTError) in
                try scenario.validate(token)
            }
        }
    }

    // MARK: Algorithm.

    @Test("alg none is refused, with or without a signature")
    func algNone() throws {
        let scenario = try Scenario(.p256)
        let payload = scenario.segments(try scenario.token())[1]
        for spelling in ["none", "None", "NONE"] {
            let header = Craft.b64(.object(scenario.header("alg", .string(spelling))))
            let unsigned = header + "." + payload + "."
            expectJWTError(.disallowedAlgorithm(spelling)) { () throws(JWTError) in try scenario.validate(unsigned) }
            let signed = try Craft.token(header: header, payload: payload, signedBy: scenario.key)
            expectJWTError(.disallowedAlgorithm(spelling)) { () throws(JWTError) in try scenario.validate(signed) }
        }
    }

    @Test("HS256 keyed with the public key's own bytes is refused", arguments: KeyType.allCases)
    func hmacWithPublicKey(type: KeyType) throws {
        let scenario = try Scenario(type)
        let payload = scenario.segments(try scenario.token())[1]
        let header = Craft.b64(.object(scenario.header("alg", "HS256")))
        let input = header + "." + payload
        // The classic confusion: a verifier that let the token pick HMAC would use the public
        // key, which the attacker has too, as the shared secret.
        for secret in [scenario.key.publicKey.pemRepresentation, try scenario.signer.publicJWK().json.serializedString] {
            let mac = Craft.hmacSHA256(key: Array(secret.utf8), message: Array(input.utf8))
            let token = input + "." + Base64URL.encode(mac)
            expectJWTError(.disallowedAlgorithm("HS256")) { () throws(JWTError) in try scenario.validate(token) }
        }
    }

    @Test("the HMAC helper matches RFC 4231 test case 2")
    func hmacHelper() {
        let mac = Craft.hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(hexString(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test("algorithms outside the allow-list are refused")
    func unknownAlgorithm() throws {
        let scenario = try Scenario(.rsa)
        let payload = scenario.segments(try scenario.token())[1]
        for alg in ["RS384", "RS512", "PS256", "ES384", "ES256K", "Ed25519", "HS512", "rs256", "RS256 ", ""] {
            let header = Craft.b64(.object(scenario.header("alg", .string(alg))))
            let token = try Craft.token(header: header, payload: payload, signedBy: scenario.key)
            expectJWTError(.disallowedAlgorithm(alg)) { () throws(JWTError) in try scenario.validate(token) }
        }
    }

    @Test("alg missing or not a string is malformed")
    func algShape() throws {
        let scenario = try Scenario(.p256)
        let payload = scenario.segments(try scenario.token())[1]
        let cases: [(JSONValue?, JWTError)] = [
            (nil, .malformed(.missingClaim("alg"))),
            (.integer(256), .malformed(.invalidMember("alg"))),
            (["ES256"], .malformed(.invalidMember("alg"))),
            (.null, .malformed(.invalidMember("alg"))),
        ]
        for (alg, expected) in cases {
            let header = Craft.b64(.object(scenario.header("alg", alg)))
            let token = try Craft.token(header: header, payload: payload, signedBy: scenario.key)
            expectJWTError(expected) { () throws(JWTError) in try scenario.validate(token) }
        }
    }

    @Test("a header alg that is not the named key's algorithm is refused")
    func algorithmKeyMismatch() throws {
        for keyType in KeyType.allCases {
            let named = try Scenario(keyType)
            for signerType in KeyType.allCases where signerType != keyType {
                // A real signature by a trusted key of the header's type, but under the kid of
                // a key of another type: the named key, not the header, decides the algorithm.
                let signerKey = try SharedKeys.key(signerType)
                let alg = JWSAlgorithm(keyType: signerType).rawValue
                let header = Craft.b64(.object(named.header("alg", .string(alg))))
                let payload = Craft.b64(.object(named.claims))
                let token = try Craft.token(header: header, payload: payload, signedBy: signerKey)
                expectJWTError(.algorithmMismatch(header: alg, key: named.alg)) { () throws(JWTError) in
                    try named.validate(token)
                }
            }
        }
    }

    @Test("crit is refused, whatever it lists")
    func criticalHeader() throws {
        let scenario = try Scenario(.ed25519)
        for crit: JSONValue in [["exp"], ["b64"], []] {
            var header = scenario.header("crit", crit)
            header["exp"] = .integer(Int64(Scenario.now) + 300)
            header["b64"] = true
            let token = try scenario.token(header: header)
            expectJWTError(.unsupportedCriticalHeader) { () throws(JWTError) in try scenario.validate(token) }
        }
    }

    // MARK: Type.

    @Test("typ missing, different or not a string is refused")
    func wrongType() throws {
        let scenario = try Scenario(.p256)
        let cases: [(JSONValue?, JWTError)] = [
            (nil, .wrongType(found: nil)),
            ("JWT", .wrongType(found: "JWT")),
            ("application/jwt", .wrongType(found: "application/jwt")),
            ("at+jwt ", .wrongType(found: "at+jwt ")),
            ("application/at+jwt; charset=utf-8", .wrongType(found: "application/at+jwt; charset=utf-8")),
            ("text/at+jwt", .wrongType(found: "text/at+jwt")),
            (.integer(1), .malformed(.invalidMember("typ"))),
        ]
        for (typ, expected) in cases {
            let token = try scenario.token(header: scenario.header("typ", typ))
            expectJWTError(expected) { () throws(JWTError) in try scenario.validate(token) }
        }
    }

    @Test("typ is compared as a media type: application/ optional, case ignored")
    func typeSpellings() throws {
        let scenario = try Scenario(.p256)
        for typ in ["at+jwt", "AT+JWT", "application/at+jwt", "Application/At+JWT"] {
            let token = try scenario.token(header: scenario.header("typ", .string(typ)))
            #expect(try scenario.validate(token).header["typ"] == .string(typ))
        }
        // With no required type, typ is not looked at.
        var anyType = scenario
        anyType.validator.configuration.requiredType = nil
        #expect(try anyType.validate(try scenario.token(header: scenario.header("typ", nil))).keyID == scenario.kid)
        #expect(try anyType.validate(try scenario.token(header: scenario.header("typ", "JWT"))).keyID == scenario.kid)
    }

    // MARK: Key.

    @Test("a kid that no trusted key has is refused")
    func unknownKey() throws {
        let scenario = try Scenario(.p256)
        let unknown = try scenario.token(header: scenario.header("kid", "not-a-trusted-key"))
        expectJWTError(.unknownKey(keyID: "not-a-trusted-key")) { () throws(JWTError) in try scenario.validate(unknown) }
        // Several keys are trusted, so a token without kid may not pick one by omission.
        let missing = try scenario.token(header: scenario.header("kid", nil))
        expectJWTError(.unknownKey(keyID: nil)) { () throws(JWTError) in try scenario.validate(missing) }
        let notString = try scenario.token(header: scenario.header("kid", .integer(7)))
        expectJWTError(.malformed(.invalidMember("kid"))) { () throws(JWTError) in try scenario.validate(notString) }
    }

    @Test("a lone key without kid verifies tokens without kid, and only then")
    func keyWithoutKid() throws {
        var scenario = try Scenario(.ed25519)
        scenario.validator.keys = VerificationKeys([.init(keyID: nil, publicKey: scenario.key.publicKey)])
        let token = try scenario.token(header: scenario.header("kid", nil))
        #expect(try scenario.validate(token).keyID == nil)
        let other = try SharedKeys.key(.p256)
        scenario.validator.keys = VerificationKeys([
            .init(keyID: nil, publicKey: scenario.key.publicKey),
            .init(keyID: "p256", publicKey: other.publicKey),
        ])
        expectJWTError(.unknownKey(keyID: nil)) { () throws(JWTError) in try scenario.validate(token) }
    }

    // MARK: Signature.

    @Test("a changed payload does not verify", arguments: KeyType.allCases)
    func tamperedPayload(type: KeyType) throws {
        let scenario = try Scenario(type)
        let parts = scenario.segments(try scenario.token())
        let forged = Craft.b64(.object(scenario.claims("sub", "admin")))
        expectJWTError(.badSignature) { () throws(JWTError) in
            try scenario.validate(parts[0] + "." + forged + "." + parts[2])
        }
        // A changed header does not verify either.
        let header = Craft.b64(.object(scenario.header("typ", "AT+JWT")))
        expectJWTError(.badSignature) { () throws(JWTError) in
            try scenario.validate(header + "." + parts[1] + "." + parts[2])
        }
    }

    @Test("a truncated or emptied signature does not verify", arguments: KeyType.allCases)
    func truncatedSignature(type: KeyType) throws {
        let scenario = try Scenario(type)
        let parts = scenario.segments(try scenario.token())
        let signature = try Base64URL.decode(parts[2])
        for shortened in [Array(signature.dropLast()), Array(signature.prefix(32)), []] {
            let token = parts[0] + "." + parts[1] + "." + Base64URL.encode(shortened)
            expectJWTError(.badSignature) { () throws(JWTError) in try scenario.validate(token) }
        }
        let lengthened = parts[0] + "." + parts[1] + "." + Base64URL.encode(signature + [0])
        expectJWTError(.badSignature) { () throws(JWTError) in try scenario.validate(lengthened) }
    }

    @Test("a signature by another key under the trusted kid does not verify", arguments: KeyType.allCases)
    func otherKeysSignature(type: KeyType) throws {
        let scenario = try Scenario(type)
        let impostor = try JWTSigner(privateKey: SharedKeys.other(type), keyID: scenario.kid)
        let token = try impostor.sign(header: scenario.header, claims: scenario.claims)
        expectJWTError(.badSignature) { () throws(JWTError) in try scenario.validate(token) }
    }

    @Test("the signature is checked before any claim")
    func signatureBeforeClaims() throws {
        let scenario = try Scenario(.p256)
        let expired = try scenario.token(claims: scenario.claims("exp", .integer(1)))
        let parts = scenario.segments(expired)
        var signature = try Base64URL.decode(parts[2])
        signature[10] ^= 0x01
        expectJWTError(.badSignature) { () throws(JWTError) in
            try scenario.validate(parts[0] + "." + parts[1] + "." + Base64URL.encode(signature))
        }
        expectJWTError(.expired) { () throws(JWTError) in try scenario.validate(expired) }
    }

    // MARK: Time.

    @Test("exp in the past is refused; within the leeway it is accepted")
    func expiration() throws {
        let scenario = try Scenario(.p256)
        let now = Int64(Scenario.now)
        // Default leeway: 10 seconds.
        for exp in [now - 11, now - 10, now - 3600] {
            let token = try scenario.token(claims: scenario.claims("exp", .integer(exp)))
            expectJWTError(.expired) { () throws(JWTError) in try scenario.validate(token) }
        }
        for exp in [now - 9, now, now + 1] {
            let token = try scenario.token(claims: scenario.claims("exp", .integer(exp)))
            #expect(try scenario.validate(token).claims.expiresAt == Double(exp))
        }
        // Fractional NumericDates count too.
        let fractional = try scenario.token(claims: scenario.claims("exp", .number(Scenario.now - 9.5)))
        #expect(try scenario.validate(fractional).claims.expiresAt == Scenario.now - 9.5)
        // Without leeway the token is expired at the instant of exp.
        var strict = scenario
        strict.validator.configuration.leeway = 0
        let atNow = try scenario.token(claims: scenario.claims("exp", .integer(now)))
        expectJWTError(.expired) { () throws(JWTError) in try strict.validate(atNow) }
        #expect(try strict.validate(atNow, now: Scenario.now - 0.001).claims.expiresAt == Scenario.now)
    }

    @Test("exp is required unless the configuration says otherwise")
    func expirationMissing() throws {
        var scenario = try Scenario(.p256)
        let token = try scenario.token(claims: scenario.claims("exp", nil))
        expectJWTError(.malformed(.missingClaim("exp"))) { () throws(JWTError) in try scenario.validate(token) }
        scenario.validator.configuration.requiresExpiration = false
        #expect(try scenario.validate(token).claims.expiresAt == nil)
    }

    @Test("time claims that are not numbers are malformed")
    func timeClaimTypes() throws {
        var scenario = try Scenario(.p256)
        scenario.validator.configuration.requiresExpiration = false
        for name in ["exp", "nbf", "iat"] {
            for value: JSONValue in [.string(String(Int64(Scenario.now) + 300)), .null, true, [1], ["t": 1]] {
                let token = try scenario.token(claims: scenario.claims(name, value))
                expectJWTError(.malformed(.invalidMember(name))) { () throws(JWTError) in try scenario.validate(token) }
            }
        }
    }

    @Test("nbf in the future is refused; within the leeway it is accepted")
    func notBefore() throws {
        let scenario = try Scenario(.ed25519)
        let now = Int64(Scenario.now)
        for nbf in [now + 11, now + 3600] {
            let token = try scenario.token(claims: scenario.claims("nbf", .integer(nbf)))
            expectJWTError(.notYetValid) { () throws(JWTError) in try scenario.validate(token) }
        }
        for nbf in [now + 10, now + 9, now, now - 3600] {
            let token = try scenario.token(claims: scenario.claims("nbf", .integer(nbf)))
            #expect(try scenario.validate(token).claims.notBefore == Double(nbf))
        }
        #expect(try scenario.validate(try scenario.token(claims: scenario.claims("nbf", nil))).claims.notBefore == nil)
    }

    @Test("iat in the future is refused; within the leeway it is accepted")
    func issuedAt() throws {
        let scenario = try Scenario(.rsa)
        let now = Int64(Scenario.now)
        for iat in [now + 11, now + 86_400] {
            let token = try scenario.token(claims: scenario.claims("iat", .integer(iat)))
            expectJWTError(.issuedInFuture) { () throws(JWTError) in try scenario.validate(token) }
        }
        for iat in [now + 10, now + 9, now - 86_400] {
            let token = try scenario.token(claims: scenario.claims("iat", .integer(iat)))
            #expect(try scenario.validate(token).claims.issuedAt == Double(iat))
        }
    }

    @Test("the leeway is clamped to 0...maximumLeeway")
    func leewayClamped() throws {
        #expect(JWTValidator.Configuration.maximumLeeway == 60)
        var configuration = JWTValidator.Configuration(issuer: "i", audience: "a", leeway: 3600)
        #expect(configuration.leeway == 60)
        configuration.leeway = 1e9
        #expect(configuration.leeway == 60)
        configuration.leeway = -5
        #expect(configuration.leeway == 0)
        configuration.leeway = 30
        #expect(configuration.leeway == 30)
        #expect(JWTValidator.Configuration(issuer: "i", audience: "a", leeway: -1).leeway == 0)
        #expect(JWTValidator.Configuration(issuer: "i", audience: "a", leeway: .infinity).leeway == 60)

        // An hour asked for is a minute granted.
        var scenario = try Scenario(.p256)
        scenario.validator.configuration = .init(issuer: Scenario.issuer, audience: Scenario.audience, leeway: 3600)
        let now = Int64(Scenario.now)
        let expiredLongAgo = try scenario.token(claims: scenario.claims("exp", .integer(now - 61)))
        expectJWTError(.expired) { () throws(JWTError) in try scenario.validate(expiredLongAgo) }
        let expiredJustNow = try scenario.token(claims: scenario.claims("exp", .integer(now - 59)))
        #expect(try scenario.validate(expiredJustNow).claims.expiresAt == Double(now - 59))
        let farFuture = try scenario.token(claims: scenario.claims("nbf", .integer(now + 61)))
        expectJWTError(.notYetValid) { () throws(JWTError) in try scenario.validate(farFuture) }
    }

    @Test("a leeway that is not a number is no leeway, not an unbounded one")
    func leewayNaN() throws {
        var configuration = JWTValidator.Configuration(issuer: "i", audience: "a", leeway: .nan)
        #expect(configuration.leeway == 0)
        configuration.leeway = .nan
        #expect(configuration.leeway == 0)

        // NaN compares false with everything: left in place it would let every nbf and iat pass.
        var scenario = try Scenario(.p256)
        scenario.validator.configuration.leeway = .nan
        let now = Int64(Scenario.now)
        let early = try scenario.token(claims: scenario.claims("nbf", .integer(now + 3600)))
        expectJWTError(.notYetValid) { () throws(JWTError) in try scenario.validate(early) }
        let future = try scenario.token(claims: scenario.claims("iat", .integer(now + 3600)))
        expectJWTError(.issuedInFuture) { () throws(JWTError) in try scenario.validate(future) }
        #expect(try scenario.validate(try scenario.token()).claims.subject == "user-1234")
    }

    // MARK: Issuer and audience.

    @Test("iss must be exactly the configured issuer")
    func issuer() throws {
        let scenario = try Scenario(.p256)
        let wrong: [JSONValue?] = [
            "https://evil.test", "https://SSO.hallpass.test", .string(Scenario.issuer + "/"), .string(" " + Scenario.issuer),
            nil, .null, .integer(1), [.string(Scenario.issuer)],
        ]
        for iss in wrong {
            let token = try scenario.token(claims: scenario.claims("iss", iss))
            expectJWTError(.wrongIssuer) { () throws(JWTError) in try scenario.validate(token) }
        }
    }

    @Test("iss and aud are compared code point by code point, without Unicode normalization")
    func noNormalization() throws {
        // RFC 7519 section 2: StringOrURI values are compared with no transformations or
        // canonicalizations. "é" and "e" + U+0301 are equal Swift Strings, but different issuers.
        var scenario = try Scenario(.p256)
        scenario.validator.configuration.issuer = "https://caf\u{E9}.test"
        scenario.validator.configuration.audience = "api-\u{E9}"
        let composed = scenario.claims.merging(["iss": "https://caf\u{E9}.test", "aud": "api-\u{E9}"]) { $1 }
        #expect(try scenario.validate(try scenario.token(claims: composed)).claims.issuer == "https://caf\u{E9}.test")

        let decomposedIssuer = composed.merging(["iss": "https://cafe\u{301}.test"]) { $1 }
        let token = try scenario.token(claims: decomposedIssuer)
        expectJWTError(.wrongIssuer) { () throws(JWTError) in try scenario.validate(token) }
        for aud: JSONValue in ["api-e\u{301}", ["api-e\u{301}"], ["x", "api-e\u{301}"]] {
            let decomposedAudience = try scenario.token(claims: composed.merging(["aud": aud]) { $1 })
            expectJWTError(.wrongAudience) { () throws(JWTError) in try scenario.validate(decomposedAudience) }
        }
    }

    @Test("aud must be or contain the configured audience")
    func audience() throws {
        let scenario = try Scenario(.rsa)
        let wrong: [JSONValue?] = [
            "https://other.test", .string(Scenario.audience.uppercased()), [], ["https://other.test", "x"],
            [.string(Scenario.audience + "/")], nil, .null, .integer(1), ["aud": .string(Scenario.audience)],
            [[.string(Scenario.audience)]],
        ]
        for aud in wrong {
            let token = try scenario.token(claims: scenario.claims("aud", aud))
            expectJWTError(.wrongAudience) { () throws(JWTError) in try scenario.validate(token) }
        }
        let accepted: [JSONValue] = [
            .string(Scenario.audience),
            [.string(Scenario.audience)],
            ["https://other.test", .string(Scenario.audience), "x"],
            [.integer(3), .string(Scenario.audience)],
        ]
        for aud in accepted {
            let token = try scenario.token(claims: scenario.claims("aud", aud))
            #expect(try scenario.validate(token).claims.audience.contains(Scenario.audience))
        }
    }

    @Test("sub and jti of the wrong type are malformed")
    func stringClaimTypes() throws {
        let scenario = try Scenario(.ed25519)
        for name in ["sub", "jti"] {
            for value: JSONValue in [.integer(1234), .null, ["user"], false] {
                let token = try scenario.token(claims: scenario.claims(name, value))
                expectJWTError(.malformed(.invalidMember(name))) { () throws(JWTError) in try scenario.validate(token) }
            }
        }
        // Both are optional.
        let bare = scenario.claims.filter { $0.key != "sub" && $0.key != "jti" }
        #expect(try scenario.validate(try scenario.token(claims: bare)).claims.subject == nil)
    }

    @Test("error descriptions name the rule and carry no token or key material")
    func descriptions() throws {
        let scenario = try Scenario(.p256)
        let token = try scenario.token()
        let errors: [JWTError] = [
            .tooLarge(limit: 8192), .malformed(.segmentCount(2)), .malformed(.json(.payload, .duplicateMember("sub"))),
            .disallowedAlgorithm("none"), .unsupportedCriticalHeader, .wrongType(found: nil),
            .unknownKey(keyID: scenario.kid), .algorithmMismatch(header: "RS256", key: "ES256"), .badSignature,
            .expired, .notYetValid, .issuedInFuture, .wrongIssuer, .wrongAudience,
        ]
        let parts = scenario.segments(token)
        for error in errors {
            #expect(!error.description.isEmpty)
            for part in parts { #expect(!error.description.contains(part)) }
        }
        #expect(JWTError.malformed(.json(.payload, .duplicateMember("sub"))).description.contains("sub"))
    }
}

/// The validator skips decoding a header whose bytes equal the one a signer writes for a trusted
/// key. These tests prove that shortcut never answers differently from the full path.
@Suite("Known-header fast path")
struct KnownHeaderTests {
    @Test("a signer's own header and a reordered equivalent give the same verified header", arguments: KeyType.allCases)
    func sameResultBothPaths(type: KeyType) throws {
        let scenario = try Scenario(type)
        let canonical = try scenario.token()
        // The same members in another order and with whitespace: the full decoding path.
        let headerJSON = #"{ "typ":"at+jwt", "kid":"\#(scenario.kid)", "alg":"\#(scenario.alg)" }"#
        let payload = Base64URL.encode(JSONValue.object(scenario.claims).serialized)
        let input = Base64URL.encode(Array(headerJSON.utf8)) + "." + payload
        let reordered = input + "." + Base64URL.encode(try scenario.key.signature(for: Array(input.utf8)))
        #expect(canonical.split(separator: ".")[0] != reordered.split(separator: ".")[0])

        let fast = try scenario.validate(canonical)
        let full = try scenario.validate(reordered)
        #expect(fast.header == full.header)
        #expect(fast.keyID == full.keyID)
        #expect(fast.algorithm == full.algorithm)
        #expect(fast.claims == full.claims)
    }

    @Test("replacing the trusted keys drops the old keys' headers too")
    func keysReplaced() throws {
        var scenario = try Scenario(.p256)
        let token = try scenario.token()
        #expect(try scenario.validate(token).keyID == scenario.kid)
        let other = try SharedKeys.key(.ed25519)
        scenario.validator.keys = VerificationKeys([.init(keyID: "only-this-one", publicKey: other.publicKey)])
        expectJWTError(.unknownKey(keyID: scenario.kid)) { () throws(JWTError) in try scenario.validate(token) }
    }

    @Test("changing the required type is honoured for a signer's own header")
    func requiredTypeChanged() throws {
        var scenario = try Scenario(.rsa)
        let token = try scenario.token()
        scenario.validator.configuration.requiredType = "logout+jwt"
        expectJWTError(.wrongType(found: "at+jwt")) { () throws(JWTError) in try scenario.validate(token) }
    }

    @Test("a signer's own header with a bad signature is still refused")
    func fastPathStillVerifies() throws {
        let scenario = try Scenario(.ed25519)
        let parts = try scenario.token().split(separator: ".")
        let forged = parts[0] + "." + Base64URL.encode(JSONValue.object(scenario.claims("sub", "admin")).serialized)
            + "." + parts[2]
        expectJWTError(.badSignature) { () throws(JWTError) in try scenario.validate(String(forged)) }
    }

    // MARK: The access-token road decodes only some claims, and must refuse all the rest alike.

    @Test("the access-token road refuses and accepts hand-written payloads exactly as the full parser does")
    func accessTokenRoadAgrees() throws {
        let scenario = try Scenario(.ed25519)
        let registered = #""iss":"\#(Scenario.issuer)","aud":"\#(Scenario.audience)","exp":\#(Int(Scenario.now) + 300)"#
        let payloads: [(json: [UInt8], expected: JWTError?)] = [
            // Names it keeps, spelled with escapes, are the same names.
            (Array(#"{\#(registered),"\u0069ss":"https://evil.test"}"#.utf8), .malformed(.json(.payload, .duplicateMember("iss")))),
            (Array(#"{"\u0069ss":"\#(Scenario.issuer)","aud":"\#(Scenario.audience)","exp":\#(Int(Scenario.now) + 300),"s\u0069d":"s-1"}"#.utf8), nil),
            // Names it skips still may not repeat, at the top or nested.
            (Array(#"{\#(registered),"x":1,"x":2}"#.utf8), .malformed(.json(.payload, .duplicateMember("x")))),
            (Array(#"{\#(registered),"x":1,"\u0078":2}"#.utf8), .malformed(.json(.payload, .duplicateMember("x")))),
            (Array(#"{\#(registered),"cnf":{"a":1,"a":2}}"#.utf8), .malformed(.json(.payload, .duplicateMember("a")))),
            // Skipped values are still checked: strings, numbers, literals, nesting.
            (Array(#"{\#(registered),"note":"caf\u00e9 \ud83d\ude00","é":"ü","n":-0.5e-3,"t":true,"z":null,"l":[1,{"b":[]}]}"#.utf8), nil),
            (Array(#"{\#(registered),"note":"\ud800"}"#.utf8), nil),
            (Array(#"{\#(registered),"n":01}"#.utf8), nil),
            (Array(#"{\#(registered),"t":tru}"#.utf8), nil),
            (Array(#"{\#(registered),"deep":"#.utf8) + Array(repeating: UInt8(ascii: "["), count: 40)
                + Array(repeating: UInt8(ascii: "]"), count: 40) + [UInt8(ascii: "}")], .malformed(.json(.payload, .tooDeep))),
            (Array(#"{\#(registered),"bin":""#.utf8) + [0xc3, 0x28] + Array(#""}"#.utf8), .malformed(.json(.payload, .invalidUTF8))),
            (Array(#"{\#(registered)} trailing"#.utf8), nil),
            (Array(#"[{\#(registered)}]"#.utf8), .malformed(.notAnObject(.payload))),
            (Array(#"{\#(registered),}"#.utf8), nil),
            // Claims it keeps, of the wrong type.
            (Array(#"{\#(registered),"sub":7}"#.utf8), .malformed(.invalidMember("sub"))),
            (Array(#"{"iss":"\#(Scenario.issuer)","aud":["other","\#(Scenario.audience)"],"exp":"soon"}"#.utf8), .malformed(.invalidMember("exp"))),
        ]
        for (json, expected) in payloads {
            let header = Craft.b64(.object(scenario.header))
            let token = try Craft.token(header: header, payload: Base64URL.encode(json), signedBy: scenario.key)
            // `validate` records an issue if the two roads disagree in any way.
            let outcome = Result { () throws(JWTError) in try scenario.validate(token) }
            if let expected {
                #expect(throws: expected, "\(String(decoding: json, as: UTF8.self))") { try outcome.get() }
            }
        }
    }
}

