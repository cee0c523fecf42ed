import HallpassCrypto
import HallpassJOSE
import Testing

/// Published examples, copied from the RFCs. Each test recomputes what the RFC shows, so a
/// wrong encoding, signature form or canonicalization here would disagree with the text.
@Suite("RFC test vectors")
struct RFCVectorTests {
    // MARK: RFC 7515 appendix A.2 and A.3: one payload, signed with RS256 and ES256.

    /// RFC 7515 A.1.1 (reused by A.2 and A.3): the payload's exact octets, CRLFs included.
    static let payloadText = "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
    static let payloadSegment = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    static let exampleExpiry: Double = 1_300_819_380

    /// RFC 7515 A.2.1: the RSA key's public members.
    static let a2Modulus = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
    static let a2Exponent = "AQAB"
    /// RFC 7515 A.2.1: the complete JWS Compact Serialization.
    static let a2Token = "eyJhbGciOiJSUzI1NiJ9"
        + "." + payloadSegment + "."
        + "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7"
        + "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4"
        + "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
        + "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv"
        + "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB"
        + "p0igcN_IoypGlUPQGe77Rw"

    /// RFC 7515 A.3.1: the EC key's public members, as base64url and as the RFC's byte arrays.
    static let a3X = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
    static let a3Y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
    static let a3XBytes: [UInt8] = [127, 205, 206, 39, 112, 246, 196, 93, 65, 131, 203, 238, 111, 219, 75, 123,
                                    88, 7, 51, 53, 123, 233, 239, 19, 186, 207, 110, 60, 123, 209, 84, 69]
    static let a3YBytes: [UInt8] = [199, 241, 68, 205, 27, 189, 155, 126, 135, 44, 223, 237, 185, 238, 185, 244,
                                    179, 105, 93, 110, 169, 11, 36, 173, 138, 70, 35, 40, 133, 136, 229, 173]
    /// RFC 7515 A.3.1: the signature's R and S.
    static let a3R: [UInt8] = [14, 209, 33, 83, 121, 99, 108, 72, 60, 47, 127, 21, 88, 7, 212, 2, 163, 178, 40,
                               3, 58, 249, 124, 126, 23, 129, 154, 195, 22, 158, 166, 101]
    static let a3S: [UInt8] = [197, 10, 7, 211, 140, 60, 112, 229, 216, 241, 45, 175, 8, 74, 84, 128, 166, 101,
                               144, 197, 242, 147, 80, 154, 143, 63, 127, 138, 131, 163, 84, 213]
    static let a3Token = "eyJhbGciOiJFUzI1NiJ9" + "." + payloadSegment + "."
        + "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"

    static func a2Key() throws -> PublicKey {
        try PublicKey(components: .rsa(modulus: Base64URL.decode(a2Modulus), exponent: Base64URL.decode(a2Exponent)))
    }

    static func a3Key() throws -> PublicKey {
        try PublicKey(components: .p256(x: Base64URL.decode(a3X), y: Base64URL.decode(a3Y)))
    }

    /// A validator that trusts only `key`, for tokens without `kid` or `typ`, as the examples are.
    static func exampleValidator(_ key: PublicKey) -> JWTValidator {
        JWTValidator(
            configuration: .init(issuer: "joe", audience: "https://hallpass.test", requiredType: nil),
            keys: VerificationKeys([.init(keyID: nil, publicKey: key)])
        )
    }

    /// The signing input and the signature bytes of a compact token.
    static func split(_ token: String) throws -> (input: [UInt8], signature: [UInt8]) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        try #require(parts.count == 3)
        return (Array((String(parts[0]) + "." + String(parts[1])).utf8), try Base64URL.decode(parts[2]))
    }

    /// The example with its payload's `exp` changed by one second, signature kept.
    static func tampered(_ token: String) throws -> String {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        let payload = payloadText.replacingOccurrences(of: "1300819380", with: "1300819381")
        #expect(payload != payloadText)
        return String(parts[0]) + "." + Base64URL.encode(Array(payload.utf8)) + "." + String(parts[2])
    }

    @Test("RFC 7515 A.1.1: the payload segment encodes the payload octets")
    func payloadEncoding() throws {
        #expect(Base64URL.encode(Array(Self.payloadText.utf8)) == Self.payloadSegment)
        #expect(try Base64URL.decode(Self.payloadSegment) == Array(Self.payloadText.utf8))
    }

    @Test("RFC 7515 A.2: the RS256 example verifies with the example public key")
    func rs256ExampleSignature() throws {
        let key = try Self.a2Key()
        #expect(key.type == .rsa)
        let (input, signature) = try Self.split(Self.a2Token)
        #expect(signature.count == 256)
        #expect(key.isValidSignature(signature, for: input))

        let (tamperedInput, tamperedSignature) = try Self.split(Self.tampered(Self.a2Token))
        #expect(!key.isValidSignature(tamperedSignature, for: tamperedInput))
        var flipped = signature
        flipped[100] ^= 0x04
        #expect(!key.isValidSignature(flipped, for: input))
    }

    @Test("RFC 7515 A.2: the validator checks the RS256 signature before the claims")
    func rs256ExampleThroughValidator() throws {
        let validator = Self.exampleValidator(try Self.a2Key())
        let tampered = try Self.tampered(Self.a2Token)
        // The example has no `aud`: reaching the audience rule means the signature, `exp` and
        // `iss` checks all passed.
        expectJWTError(.wrongAudience) { () throws(JWTError) in
            try validator.validate(Self.a2Token, now: Self.exampleExpiry - 60)
        }
        expectJWTError(.expired) { () throws(JWTError) in
            try validator.validate(Self.a2Token, now: Self.exampleExpiry + 60)
        }
        expectJWTError(.badSignature) { () throws(JWTError) in
            try validator.validate(tampered, now: Self.exampleExpiry - 60)
        }
        // The A.2 header is just {"alg":"RS256"}: a validator requiring `typ` refuses it first.
        var typed = validator
        typed.configuration.requiredType = "JWT"
        expectJWTError(.wrongType(found: nil)) { () throws(JWTError) in
            try typed.validate(Self.a2Token, now: Self.exampleExpiry - 60)
        }
    }

    @Test("RFC 7515 A.3: the example EC key's members are the RFC's byte arrays")
    func es256ExampleKeyEncoding() throws {
        #expect(try Base64URL.decode(Self.a3X) == Self.a3XBytes)
        #expect(try Base64URL.decode(Self.a3Y) == Self.a3YBytes)
        #expect(try Self.a3Key().components() == .p256(x: Self.a3XBytes, y: Self.a3YBytes))
    }

    @Test("RFC 7515 A.3: the ES256 example verifies with the example public key")
    func es256ExampleSignature() throws {
        let key = try Self.a3Key()
        #expect(key.type == .p256)
        let (input, signature) = try Self.split(Self.a3Token)
        // JOSE's ECDSA form is R‖S, 64 bytes: the RFC's R and S arrays, concatenated.
        #expect(signature == Self.a3R + Self.a3S)
        #expect(key.isValidSignature(signature, for: input))

        let (tamperedInput, tamperedSignature) = try Self.split(Self.tampered(Self.a3Token))
        #expect(!key.isValidSignature(tamperedSignature, for: tamperedInput))
        // S‖R is not R‖S.
        #expect(!key.isValidSignature(Self.a3S + Self.a3R, for: input))
    }

    @Test("RFC 7515 A.3: the validator checks the ES256 signature before the claims")
    func es256ExampleThroughValidator() throws {
        let validator = Self.exampleValidator(try Self.a3Key())
        let tampered = try Self.tampered(Self.a3Token)
        expectJWTError(.wrongAudience) { () throws(JWTError) in
            try validator.validate(Self.a3Token, now: Self.exampleExpiry - 60)
        }
        expectJWTError(.badSignature) { () throws(JWTError) in
            try validator.validate(tampered, now: Self.exampleExpiry - 60)
        }
        // The RS256 example's key must not verify the ES256 example: the key decides the algorithm.
        let rsaValidator = Self.exampleValidator(try Self.a2Key())
        expectJWTError(.algorithmMismatch(header: "ES256", key: "RS256")) { () throws(JWTError) in
            try rsaValidator.validate(Self.a3Token, now: Self.exampleExpiry - 60)
        }
    }

    // MARK: RFC 8037 appendix A.1, A.4 and A.5: Ed25519.

    /// RFC 8037 A.1: the Ed25519 private key `d` (the seed) and public key `x`.
    static let ed25519D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
    static let ed25519X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    /// RFC 8037 A.4: the header, the payload, their encodings, and the resulting JWS.
    static let ed25519Header = "{\"alg\":\"EdDSA\"}"
    static let ed25519HeaderSegment = "eyJhbGciOiJFZERTQSJ9"
    static let ed25519Payload = "Example of Ed25519 signing"
    static let ed25519PayloadSegment = "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    static let ed25519Token = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
        + "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"

    @Test("RFC 8037 A.1: the public key derived from d is x")
    func ed25519PublicKeyFromSeed() throws {
        let key = try PrivateKey(ed25519Seed: Base64URL.decode(Self.ed25519D))
        #expect(key.type == .ed25519)
        #expect(try key.publicKey.components() == .ed25519(x: Base64URL.decode(Self.ed25519X)))
    }

    @Test("RFC 8037 A.4: signing the example gives exactly the published JWS")
    func ed25519Signing() throws {
        let key = try PrivateKey(ed25519Seed: Base64URL.decode(Self.ed25519D))
        #expect(Base64URL.encode(Array(Self.ed25519Header.utf8)) == Self.ed25519HeaderSegment)
        #expect(Base64URL.encode(Array(Self.ed25519Payload.utf8)) == Self.ed25519PayloadSegment)
        let input = Array((Self.ed25519HeaderSegment + "." + Self.ed25519PayloadSegment).utf8)
        // Ed25519 is deterministic, so the signature bytes must match the RFC's exactly.
        let signature = try key.signature(for: input)
        let (_, published) = try Self.split(Self.ed25519Token)
        #expect(signature == published)
        #expect(Self.ed25519HeaderSegment + "." + Self.ed25519PayloadSegment + "." + Base64URL.encode(signature)
            == Self.ed25519Token)
    }

    @Test("RFC 8037 A.5: the example verifies with x alone")
    func ed25519Validation() throws {
        let key = try PublicKey(components: .ed25519(x: Base64URL.decode(Self.ed25519X)))
        let (input, signature) = try Self.split(Self.ed25519Token)
        #expect(key.isValidSignature(signature, for: input))
        var alteredInput = input
        alteredInput[alteredInput.count - 1] ^= 0x01
        #expect(!key.isValidSignature(signature, for: alteredInput))

        // The payload is text, not JSON claims: the validator fails on it only after the
        // signature verified, while a forged signature stops it one step earlier.
        let validator = Self.exampleValidator(key)
        expectJWTError(.malformed(.json(.payload, .unexpectedByte(offset: 0)))) { () throws(JWTError) in
            try validator.validate(Self.ed25519Token)
        }
        var forged = signature
        forged[0] ^= 0x01
        let forgedToken = Self.ed25519HeaderSegment + "." + Self.ed25519PayloadSegment + "." + Base64URL.encode(forged)
        expectJWTError(.badSignature) { () throws(JWTError) in try validator.validate(forgedToken) }
    }

    @Test("RFC 8037 A.3: the Ed25519 key's thumbprint")
    func ed25519Thumbprint() throws {
        let key = try PrivateKey(ed25519Seed: Base64URL.decode(Self.ed25519D))
        let jwk = try JWK(publicKey: key.publicKey)
        #expect(jwk.thumbprint == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
        #expect(jwk.keyID == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
        #expect(hexString(try Base64URL.decode(jwk.thumbprint))
            == "90facafea9b1556698540f70c0117a22ea37bd5cf3ed3c47093c1707282b4b89")
    }

    // MARK: RFC 7638 section 3.1: JWK thumbprint.

    /// RFC 7638 3.1: the example JWK, with its optional members.
    static let thumbprintJWK = "{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}"

    @Test("RFC 7638 3.1: the example RSA key's thumbprint")
    func thumbprint() throws {
        let jwk = try JWK(json: JSONParser.parse(Array(Self.thumbprintJWK.utf8)))
        #expect(jwk.keyID == "2011-04-29")
        #expect(jwk.algorithm == .rs256)
        #expect(jwk.thumbprint == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        // Optional members take no part in it.
        let bare = JWK(components: jwk.components, keyID: nil, algorithm: nil)
        #expect(bare.thumbprint == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        // And the key it describes names itself by it when no kid is given.
        let named = try JWK(publicKey: jwk.publicKey())
        #expect(named.keyID == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    }
}
