import HallpassCrypto
import HallpassJOSE
import HallpassTestSupport
import Testing

@Suite("JWK and JWK Set")
struct JWKTests {
    func parse(_ text: String) throws -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    @Test("a JWK survives encoding and decoding, and its key still verifies", arguments: KeyType.allCases)
    func roundTrip(type: KeyType) throws {
        let key = try SharedKeys.key(type)
        let jwk = try JWK(publicKey: key.publicKey)
        #expect(jwk.keyType == type)
        #expect(jwk.algorithm == JWSAlgorithm(keyType: type))

        let members = try #require(jwk.json.objectValue)
        let expectedNames: Set<String> = switch type {
        case .p256: ["kty", "crv", "x", "y", "kid", "alg", "use"]
        case .ed25519: ["kty", "crv", "x", "kid", "alg", "use"]
        case .rsa: ["kty", "n", "e", "kid", "alg", "use"]
        }
        #expect(Set(members.keys) == expectedNames)
        #expect(members["use"] == "sig")
        #expect(members["alg"] == .string(JWSAlgorithm(keyType: type).rawValue))

        let decoded = try JWK(json: JSONParser.parse(jwk.json.serialized))
        #expect(decoded == jwk)
        let message = Array("round trip".utf8)
        #expect(try decoded.publicKey().isValidSignature(try key.signature(for: message), for: message))

        let set = JWKSet(keys: [jwk])
        let decodedSet = try JWKSet(jsonBytes: set.json.serialized)
        #expect(decodedSet == set)
        let keys = try VerificationKeys(jwks: decodedSet)
        #expect(keys.keyIDs == [jwk.keyID!])
        #expect(keys.key(for: jwk.keyID)?.algorithm == JWSAlgorithm(keyType: type))
    }

    @Test("the kid is the RFC 7638 thumbprint unless one is given", arguments: KeyType.allCases)
    func kidIsThumbprint(type: KeyType) throws {
        let key = try SharedKeys.key(type)
        let jwk = try JWK(publicKey: key.publicKey)
        // Recompute the thumbprint from its definition: SHA-256 over the required members,
        // sorted and without whitespace.
        let required: String = switch try key.publicKey.components() {
        case .p256(let x, let y):
            "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"\(Base64URL.encode(x))\",\"y\":\"\(Base64URL.encode(y))\"}"
        case .ed25519(let x):
            "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"\(Base64URL.encode(x))\"}"
        case .rsa(let n, let e):
            "{\"e\":\"\(Base64URL.encode(e))\",\"kty\":\"RSA\",\"n\":\"\(Base64URL.encode(n))\"}"
        }
        let expected = Base64URL.encode(Digest.sha256(Array(required.utf8)))
        #expect(jwk.thumbprint == expected)
        #expect(jwk.keyID == expected)
        #expect(try JWTSigner(privateKey: key).keyID == expected)
        #expect(try JWTSigner(privateKey: key).publicJWK().keyID == expected)

        let named = try JWK(publicKey: key.publicKey, keyID: "2026-11-signing")
        #expect(named.keyID == "2026-11-signing")
        #expect(named.thumbprint == expected)
        #expect(try JWTSigner(privateKey: key, keyID: "2026-11-signing").publicJWK() == named)
    }

    @Test("RSA members with leading zero bytes are read as the same key")
    func rsaLeadingZeros() throws {
        let key = try SharedKeys.key(.rsa)
        guard case .rsa(let n, let e) = try key.publicKey.components() else {
            Issue.record("RSA key without RSA components")
            return
        }
        let padded = try parse("{\"kty\":\"RSA\",\"n\":\"\(Base64URL.encode([0] + n))\",\"e\":\"\(Base64URL.encode([0, 0] + e))\"}")
        let jwk = try JWK(json: padded)
        #expect(jwk.components == .rsa(modulus: n, exponent: e))
        #expect(jwk.thumbprint == (try JWK(publicKey: key.publicKey)).thumbprint)
    }

    @Test("a JWK with private members is refused, alone and in a set")
    func privateMembersRefused() throws {
        let ecPrivate = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\",\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}"
        #expect(throws: JWKError.containsPrivateKey) { try JWK(json: parse(ecPrivate)) }
        let okpPrivate = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"
        #expect(throws: JWKError.containsPrivateKey) { try JWK(json: parse(okpPrivate)) }
        for member in ["p", "q", "dp", "dq", "qi", "oth"] {
            let rsa = "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"\(member)\":\"AQAB\"}"
            #expect(throws: JWKError.containsPrivateKey) { try JWK(json: parse(rsa)) }
        }
        // A symmetric key is all secret.
        #expect(throws: JWKError.containsPrivateKey) { try JWK(json: parse("{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}")) }
        // A key set carrying a private key is refused whole, not filtered: it was published by mistake.
        let set = "{\"keys\":[\(ecPrivate)]}"
        #expect(throws: JWKError.containsPrivateKey) { try JWKSet(jsonBytes: Array(set.utf8)) }
    }

    @Test("keys of unsupported types are skipped in a set; malformed supported keys throw")
    func unsupportedAndMalformed() throws {
        let good = try JWK(publicKey: SharedKeys.key(.ed25519).publicKey)
        let goodText = good.json.serializedString
        let unsupported = [
            "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AAAA\",\"y\":\"AAAA\"}",
            "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AAAA\"}",
            "{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"AAAA\"}",
            "{\"kty\":\"PQC\",\"pub\":\"AAAA\"}",
            "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"alg\":\"PS256\"}",
            "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"use\":\"enc\"}",
        ]
        let set = try JWKSet(jsonBytes: Array("{\"keys\":[\(unsupported.joined(separator: ",")),\(goodText)]}".utf8))
        #expect(set.keys == [good])
        for text in unsupported {
            #expect(throws: JWKError.self) { try JWK(json: parse(text)) }
            do { _ = try JWK(json: parse(text)) } catch let error as JWKError {
                guard case .unsupported = error else { Issue.record("\(text): expected unsupported, got \(error)"); continue }
            }
        }

        let malformed = [
            "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\"}",      // no y
            "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83O+3D2\",\"y\":\"AAAA\"}",                           // not base64url
            "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":11}",                                                 // not a string
            "{\"kty\":\"RSA\",\"e\":\"AQAB\"}",                                                               // no n
            "{\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}",                                             // no kty
            "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"kid\":7}",                                     // kid not a string
            "[\"kty\"]",
        ]
        for text in malformed {
            do {
                _ = try JWK(json: parse(text))
                Issue.record("accepted malformed JWK \(text)")
            } catch let error as JWKError {
                guard case .malformed = error else { Issue.record("\(text): expected malformed, got \(error)"); continue }
            }
            // In a set, a broken key of a supported type is an error, not something to skip.
            #expect(throws: JWKError.self) { try JWKSet(jsonBytes: Array("{\"keys\":[\(goodText),\(text)]}".utf8)) }
        }
        for text in ["{}", "{\"keys\":{}}", "[]", "{\"keys\":", "{\"keys\":[],\"keys\":[]}"] {
            do {
                _ = try JWKSet(jsonBytes: Array(text.utf8))
                Issue.record("accepted malformed JWK Set \(text)")
            } catch {
                guard case .malformed = error else { Issue.record("\(text): expected malformed, got \(error)"); continue }
            }
        }
    }

    @Test("an alg that contradicts the key is refused", arguments: KeyType.allCases)
    func inconsistentAlgorithm(type: KeyType) throws {
        let jwk = try JWK(publicKey: SharedKeys.key(type).publicKey)
        for algorithm in JWSAlgorithm.allCases where algorithm != JWSAlgorithm(keyType: type) {
            guard case .object(var members) = jwk.json else { Issue.record("JWK JSON is not an object"); return }
            members["alg"] = .string(algorithm.rawValue)
            do {
                _ = try JWK(json: .object(members))
                Issue.record("accepted a \(type) key with alg \(algorithm.rawValue)")
            } catch {
                guard case .inconsistent = error else { Issue.record("expected inconsistent, got \(error)"); continue }
            }
            // A set does not skip it either: the publisher contradicts itself.
            #expect(throws: JWKError.self) { try JWKSet(json: .object(["keys": [.object(members)]])) }
        }
        // Without alg, the key type decides.
        guard case .object(var bare) = jwk.json else { return }
        bare["alg"] = nil
        #expect(try JWK(json: .object(bare)).algorithm == nil)
    }

    @Test("a key whose numbers are not a valid key is refused when trusted")
    func invalidKeyMaterial() throws {
        // RFC 7515 A.3's x with y's last bit flipped: well-formed members, but not a point on P-256.
        let offCurve = try parse("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5aw\"}]}")
        let set = try JWKSet(json: offCurve)
        #expect(throws: JWKError.invalidKey(.invalidKeyMaterial("the point is not on P-256"))) {
            try VerificationKeys(jwks: set)
        }
        let shortX = try parse("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}]}")
        #expect(throws: JWKError.invalidKey(.invalidKeyMaterial("Ed25519 public key must be 32 bytes"))) {
            try VerificationKeys(jwks: JWKSet(json: shortX))
        }
        var modulus = try SecureRandom.bytes(count: 128)
        modulus[0] |= 0x80
        let smallRSA = JWKSet(keys: [JWK(components: .rsa(modulus: modulus, exponent: [1, 0, 1]), keyID: "small", algorithm: nil)])
        #expect(throws: JWKError.invalidKey(.rsaKeyTooSmall(bits: 1024))) { try VerificationKeys(jwks: smallRSA) }
    }

    @Test("a JWKS round trip feeds a validator that accepts the signer's tokens", arguments: KeyType.allCases)
    func jwksDrivesValidator(type: KeyType) throws {
        let signer = try JWTSigner(privateKey: SharedKeys.key(type))
        let others = try KeyType.allCases.filter { $0 != type }.map { try JWTSigner(privateKey: SharedKeys.other($0)).publicJWK() }
        let published = JWKSet(keys: others + [try signer.publicJWK()]).json.serialized
        let keys = try VerificationKeys(jwks: JWKSet(jsonBytes: published))
        #expect(Set(keys.keyIDs) == Set(others.compactMap(\.keyID) + [signer.keyID]))
        let validator = JWTValidator(configuration: .init(issuer: "iss", audience: "aud"), keys: keys)
        let now = wallClockSeconds()
        let token = try signer.sign(claims: ["iss": "iss", "aud": "aud", "exp": .number(now + 60)])
        #expect(try validator.validate(token, now: now).keyID == signer.keyID)
    }
}
