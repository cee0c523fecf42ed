import Foundation
import HallpassCrypto
import HallpassJOSE
import HallpassTestSupport
import Testing

/// Hallpass against PyJWT, in both directions: a token one side signs, the other verifies,
/// with keys exchanged only as JWKs. Agreement with our own code proves little; agreement with
/// an independent implementation catches shared misreadings of the RFCs.
@Suite("Interop with PyJWT")
struct InteropTests {
    static let issuer = "https://sso.hallpass.test"
    static let audience = "https://api.hallpass.test"

    @Test("Swift and PyJWT verify each other's tokens and refuse tampered ones", arguments: KeyType.allCases)
    func roundTrip(type: KeyType) async throws {
        // Throws when HALLPASS_PYTHON is unset: a skipped interop check would read like a passed one.
        let python = try InteropPython.executable()
        let alg = JWSAlgorithm(keyType: type)

        // (a) Swift signs an access token and publishes its key as a JWK Set.
        let signer = try JWTSigner(privateKey: PrivateKey.generate(type))
        let now = Int64(wallClockSeconds())
        let claims: [String: JSONValue] = [
            "iss": .string(Self.issuer),
            "aud": .string(Self.audience),
            "sub": "user-42",
            "jti": .string(Base64URL.encode(try SecureRandom.bytes(count: 16))),
            "iat": .integer(now),
            "nbf": .integer(now),
            "exp": .integer(now + 300),
            "scope": "openid email",
            "amr": ["pwd", "otp"],
            "name": "Zoë Ünïcode ☃",
        ]
        let token = try signer.sign(claims: claims)
        let jwks = JWKSet(keys: [try signer.publicJWK()]).json.serializedString

        // (c) The same token with a claim changed and the signature kept.
        let parts = token.split(separator: ".").map(String.init)
        var forged = claims
        forged["sub"] = "admin"
        let tampered = parts[0] + "." + Base64URL.encode(JSONValue.object(forged).serialized) + "." + parts[2]

        let request: JSONValue = [
            "alg": .string(alg.rawValue),
            "issuer": .string(Self.issuer),
            "audience": .string(Self.audience),
            "token": .string(token),
            "tampered_token": .string(tampered),
            "jwks": .string(jwks),
        ]
        let output = try await runProcess(python, [InteropPython.script("pyjwt_interop.py").path], input: request.serializedString)
        try #require(
            output.status == 0,
            "pyjwt_interop.py exited with \(output.status)\nstderr:\n\(output.standardError)\nstdout:\n\(output.standardOutput)"
        )
        let response = try #require(
            try JSONParser.parse(Array(output.standardOutput.utf8)).objectValue,
            "the script's output is not a JSON object: \(output.standardOutput)"
        )

        // (a) PyJWT accepted Swift's token and read back exactly what was signed.
        let verified = try #require(response["verified"]?.objectValue)
        #expect(verified["claims"] == .object(claims))
        #expect(verified["header"] == ["alg": .string(alg.rawValue), "kid": .string(signer.keyID), "typ": "at+jwt"])
        #expect(verified["key_algorithm"] == .string(alg.rawValue))

        // (c) PyJWT refused the tampered token for its signature, not for some other reason.
        let rejection = try #require(response["tampered"]?.objectValue)
        #expect(rejection["rejected"] == true)
        #expect(rejection["error"] == "InvalidSignatureError")

        // (b) Swift validates PyJWT's token with only PyJWT's public JWK.
        let signed = try #require(response["signed"]?.objectValue)
        let pythonToken = try #require(signed["token"]?.stringValue)
        let pythonJWK = try #require(signed["jwk"])
        let pythonClaims = try #require(signed["claims"]?.objectValue)
        let pythonKid = try #require(signed["kid"]?.stringValue)
        let keys = try VerificationKeys(jwks: JWKSet(json: ["keys": [pythonJWK]]))
        #expect(keys.keyIDs == [pythonKid])
        let validator = JWTValidator(configuration: .init(issuer: Self.issuer, audience: Self.audience), keys: keys)
        let fromPython = try validator.validate(pythonToken)
        #expect(fromPython.claims.members == pythonClaims)
        #expect(fromPython.algorithm == alg)
        #expect(fromPython.keyID == pythonKid)
        #expect(fromPython.header["typ"] == "at+jwt")

        // And our own key does not verify PyJWT's token: the check above used PyJWT's key.
        let ownKeys = VerificationKeys([.init(keyID: pythonKid, publicKey: signer.privateKey.publicKey)])
        #expect(throws: JWTError.badSignature) {
            try JWTValidator(configuration: .init(issuer: Self.issuer, audience: Self.audience), keys: ownKeys)
                .validate(pythonToken)
        }
    }
}
