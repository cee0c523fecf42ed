import Hallpass
import HallpassCrypto
import HallpassJOSE
import HallpassStore
import Testing

@Suite("Validator: every bad token is refused with the right typed error, never a crash", .serialized)
struct MalformedTokenTests {
    @Test("alg none, HS256 keyed with the public key, unknown kid, typ missing or wrong, expired, nbf ahead, wrong aud, wrong iss, tampered payload, truncated signature, 100 KiB, not JSON, duplicate claims, empty")
    func everyRefusal() async throws {
        let fixture = try await ValidatorFixture.start()
        defer { Task { await fixture.stop() } }
        let session = try await fixture.login()
        let sid = session.sessionID
        let good = try fixture.token(session: sid)
        let parts = good.split(separator: ".").map(String.init)
        let now = wallClockSecondsInt()
        let claims: [String: JSONValue] = [
            "iss": .string(ValidatorFixture.issuer), "sub": .string(fixture.userID), "aud": .string(ValidatorFixture.audience),
            "exp": .integer(now + 300), "iat": .integer(now), "jti": "j1", "client_id": .string(ValidatorFixture.audience),
            "scope": "openid", "sid": .string(sid),
        ]
        func segment(_ object: [String: JSONValue]) -> String { Base64URL.encode(JSONValue.object(object).serialized) }
        func segment(_ text: String) -> String { Base64URL.encode(Array(text.utf8)) }

        var cases: [(String, String, ValidationError)] = []
        // alg none, unsigned and "signed".
        let noneHeader = segment(["alg": "none", "typ": "at+jwt", "kid": .string(fixture.signer.keyID)])
        cases.append(("alg none", noneHeader + "." + parts[1] + ".", .disallowedAlgorithm))
        cases.append(("alg none with a signature", noneHeader + "." + parts[1] + "." + parts[2], .disallowedAlgorithm))
        // HS256 keyed with the public key's bytes.
        let hsHeader = segment(["alg": "HS256", "typ": "at+jwt", "kid": .string(fixture.signer.keyID)])
        for secret in [fixture.signer.privateKey.publicKey.pemRepresentation, try fixture.signer.publicJWK().json.serializedString] {
            let input = hsHeader + "." + parts[1]
            cases.append(("HS256", input + "." + Base64URL.encode(hmacSHA256(key: Array(secret.utf8), message: Array(input.utf8))), .disallowedAlgorithm))
        }
        // A key the store never had.
        let stranger = try JWTSigner(privateKey: PrivateKey.generate(.p256))
        cases.append(("unknown kid", try stranger.sign(claims: claims), .unknownKey))
        // typ.
        cases.append(("typ missing", try fixture.signer.sign(claims: claims, type: nil), .wrongType))
        cases.append(("typ JWT", try fixture.signer.sign(claims: claims, type: "JWT"), .wrongType))
        // Time.
        cases.append(("expired", try fixture.token(session: sid, issuedAt: now - 1000, lifetime: 300), .expired))
        cases.append(("nbf ahead", try fixture.token(session: sid, extra: ["nbf": .integer(now + 600)]), .notYetValid))
        // Audience and issuer.
        cases.append(("wrong aud", try fixture.token(session: sid, extra: ["aud": "billing"]), .wrongAudience))
        cases.append(("wrong iss", try fixture.token(session: sid, extra: ["iss": "http://evil.example"]), .wrongIssuer))
        // Tampering.
        var tamperedClaims = claims
        tamperedClaims["sub"] = "admin"
        cases.append(("payload tampered", parts[0] + "." + segment(tamperedClaims) + "." + parts[2], .badSignature))
        cases.append(("signature truncated", parts[0] + "." + parts[1] + "." + String(parts[2].dropLast(10)), .badSignature))
        cases.append(("signature removed", parts[0] + "." + parts[1] + ".", .badSignature))
        // Size and syntax.
        cases.append(("100 KiB", parts[0] + "." + String(repeating: "A", count: 100 * 1024) + "." + parts[2], .tooLarge))
        let notJSON = try fixture.signer.sign(header: ["typ": "at+jwt", "kid": .string(fixture.signer.keyID)], claims: claims)
        let notJSONParts = notJSON.split(separator: ".")
        let headerBytes = String(notJSONParts[0])
        let garbage = segment("this is not json")
        let garbageInput = headerBytes + "." + garbage
        let garbageSigned = garbageInput + "." + Base64URL.encode(try fixture.signer.privateKey.signature(for: garbageInput.utf8))
        cases.append(("not JSON (validly signed)", String(garbageSigned), .malformed("")))
        let duplicate = segment(#"{"iss":"\#(ValidatorFixture.issuer)","sub":"\#(fixture.userID)","sub":"admin","aud":"notes","exp":\#(now + 300),"iat":\#(now),"jti":"j","client_id":"notes","sid":"\#(sid)"}"#)
        let duplicateInput = headerBytes + "." + duplicate
        let duplicateSigned = duplicateInput + "." + Base64URL.encode(try fixture.signer.privateKey.signature(for: duplicateInput.utf8))
        cases.append(("duplicate claim names (validly signed)", String(duplicateSigned), .malformed("")))
        cases.append(("empty string", "", .malformed("")))
        cases.append(("one segment", "abc", .malformed("")))
        cases.append(("four segments", good + ".x", .malformed("")))
        cases.append(("bad base64", "!!!." + parts[1] + "." + parts[2], .malformed("")))
        var missingSID = claims
        missingSID["sid"] = nil
        cases.append(("sid missing", try fixture.signer.sign(claims: missingSID), .malformed("")))

        let allCases = cases
        try await running(try fixture.validator()) { validator in
            #expect(refusal(validator, good) == nil)
            for (name, token, expected) in allCases {
                let found = refusal(validator, token)
                if case .malformed = expected {
                    guard case .malformed = found else {
                        Issue.record("\(name): expected malformed, got \(String(describing: found))")
                        continue
                    }
                } else {
                    #expect(found == expected, "\(name)")
                }
                // Twice: a refusal is never cached as a success.
                #expect(refusal(validator, token) != nil, "\(name), second time")
            }
        }
    }

    @Test("ES256, EdDSA and RS256 keys each validate their own tokens", arguments: [JWSAlgorithm.es256, .edDSA, .rs256])
    func everyAlgorithm(_ algorithm: JWSAlgorithm) async throws {
        let fixture = try await ValidatorFixture.start(algorithm: algorithm)
        defer { Task { await fixture.stop() } }
        let session = try await fixture.login()
        let token = try fixture.token(session: session.sessionID)
        try await running(try fixture.validator()) { validator in
            #expect(refusal(validator, token) == nil)
        }
    }
}
