import HallpassCrypto
import HallpassJOSE
import HallpassTestSupport
import Testing

@Suite("JWTSigner and JSONObjectWriter")
struct JWTSignerTests {
    @Test("JSONObjectWriter writes compact JSON that parses to the members added, in their order")
    func writer() throws {
        var writer = JSONObjectWriter(capacity: 4)
        writer.add("sub", "user-1")
        writer.add("exp", Int64(1_700_000_060))
        writer.add("neg", Int64.min)
        writer.add("quote\"d", "line\nbreak \\ \u{1} é")
        writer.add("aud", JSONValue.array(["a", "b"]))
        writer.add("nested", JSONValue.object(["z": 1, "a": .null]))
        let bytes = writer.finish()
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == #"{"sub":"user-1","exp":1700000060,"neg":-9223372036854775808,"quote\"d":"line\nbreak \\ \u0001 é","aud":["a","b"],"nested":{"a":null,"z":1}}"#
        )
        let parsed = try JSONParser.parse(bytes)
        #expect(
            parsed
                == [
                    "sub": "user-1", "exp": 1_700_000_060, "neg": .integer(.min), "quote\"d": "line\nbreak \\ \u{1} é",
                    "aud": ["a", "b"], "nested": ["z": 1, "a": nil],
                ])
        #expect(JSONObjectWriter().finish() == Array("{}".utf8))
    }

    @Test("the header is {alg, kid, typ} whichever way the claims are given, cached type or not", arguments: KeyType.allCases)
    func header(type: KeyType) throws {
        let key = try SharedKeys.key(type)
        let signer = try JWTSigner(privateKey: key)
        let verifier = VerificationKeys([.init(keyID: signer.keyID, publicKey: key.publicKey)])
        let claims: [String: JSONValue] = ["iss": "https://sso.hallpass.test", "aud": "api", "exp": 4_000_000_000, "sub": "u"]
        var writer = JSONObjectWriter()
        for (name, value) in claims { writer.add(name, value) }
        let payload = writer.finish()
        for tokenType in ["at+jwt", "JWT", "logout+jwt", "custom+jwt", nil] as [String?] {
            var expectedHeader: [String: JSONValue] = ["alg": .string(signer.algorithm.rawValue), "kid": .string(signer.keyID)]
            if let tokenType { expectedHeader["typ"] = .string(tokenType) }
            // The validator checks `typ` when it requires one, and takes its fast road for the
            // header bytes it expects; both must accept what the signer writes.
            let validator = JWTValidator(
                configuration: .init(issuer: "https://sso.hallpass.test", audience: "api", requiredType: tokenType), keys: verifier)
            for token in [try signer.sign(claims: claims, type: tokenType), try signer.sign(payload: payload, type: tokenType)] {
                let headerSegment = String(token.prefix { $0 != "." })
                #expect(headerSegment == Base64URL.encode(JSONValue.object(expectedHeader).serialized))
                let verified = try validator.validate(token, now: 1_700_000_000)
                #expect(verified.header == expectedHeader)
                #expect(verified.claims.members == claims)
            }
        }
    }
}
