import HallpassCrypto
import HallpassJOSE
import Testing

/// Byte-level helpers for building tokens that `JWTSigner` would never produce.
enum Craft {
    static func b64(_ text: String) -> String { Base64URL.encode(Array(text.utf8)) }
    static func b64(_ json: JSONValue) -> String { Base64URL.encode(json.serialized) }

    /// `header.payload.signature`, where the signature is `key`'s over the exact segments given
    /// (which need not be valid base64url or JSON), or `signature` verbatim.
    static func token(header: String, payload: String, signedBy key: PrivateKey) throws -> String {
        let input = header + "." + payload
        return input + "." + Base64URL.encode(try key.signature(for: Array(input.utf8)))
    }

    /// HMAC-SHA-256 (RFC 2104) on top of `Digest.sha256`, so a test can forge the HS256 token an
    /// algorithm-confusion attacker would send.
    static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        let blockSize = 64
        var block = key.count > blockSize ? Digest.sha256(key) : key
        block += [UInt8](repeating: 0, count: blockSize - block.count)
        let inner = Digest.sha256(block.map { $0 ^ 0x36 } + message)
        return Digest.sha256(block.map { $0 ^ 0x5c } + inner)
    }
}

/// Checks that `body` throws exactly `expected`, and says what it did instead.
func expectJWTError(
    _ expected: JWTError,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws(JWTError) -> VerifiedJWT
) {
    do {
        let verified = try body()
        Issue.record("expected \(expected), but the token was accepted with claims \(verified.claims.members)", sourceLocation: sourceLocation)
    } catch {
        #expect(error == expected, sourceLocation: sourceLocation)
    }
}
