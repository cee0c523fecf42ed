public import HallpassCrypto

/// An opaque refresh token: `<session id>.<grant id>.<secret>`.
///
/// The secret is 256 bits from OpenSSL's CSPRNG followed, in a successor, by a 128-bit lineage
/// tag: the first half of SHA-1 over the predecessor's verifier and those random bits. The
/// store keeps only a SHA-256 verifier of the whole token. The tag lets the store tell a
/// successor whose rotation it lost (a crash or failover took the write; see
/// ``HallpassStore/rotate(_:clientID:grace:actor:)``) from a replayed old token: only the
/// latter may end the session. It proves nothing by itself and unlocks nothing: a token is
/// accepted only when its verifier is stored. The grant id (80 random bits, never shown outside refresh tokens) names
/// the client's grant inside the session, so a presented token that names a live grant but
/// carries the wrong secret is proof that an old token of that grant was replayed; a token
/// naming no live grant is merely invalid. Rotation keeps the session and grant ids and
/// replaces the secret.
public struct RefreshToken: Sendable, Hashable, CustomStringConvertible {
    /// The session (`sid`) the token belongs to; its first character names the shard.
    public let sessionID: String
    /// The grant within the session.
    public let grantID: String
    let secret: [UInt8]
    /// The token as the client receives it. Stored, since the verifier, the seal and the
    /// response all need it on every refresh.
    public let encoded: String

    /// Random bytes of a secret.
    static let randomByteCount = 32
    /// Lineage tag bytes after them.
    static let lineageByteCount = 16
    static let secretByteCount = randomByteCount + lineageByteCount
    /// The secret length of tokens issued before lineage tags, still accepted.
    static let untaggedSecretByteCount = 32
    static let grantIDByteCount = 10

    /// A new token for a new grant in `sessionID`.
    public static func issue(sessionID: String) throws(CryptoError) -> RefreshToken {
        RefreshToken(
            sessionID: sessionID,
            grantID: Base32.encode(try SecureRandom.bytes(count: grantIDByteCount)),
            secret: try SecureRandom.bytes(count: secretByteCount)
        )
    }

    init(sessionID: String, grantID: String, secret: [UInt8]) {
        self.sessionID = sessionID
        self.grantID = grantID
        self.secret = secret
        self.encoded = sessionID + "." + grantID + "." + Base32.encode(secret)
    }

    /// Parses a presented token; `nil` for anything not shaped like one of ours.
    public init?(parsing text: some StringProtocol) {
        var text = String(text)
        guard let parsed = text.withUTF8({ Self.parse($0) }) else { return nil }
        self = parsed
    }

    /// The parse itself, over the token's bytes: tokens are parsed on every refresh, and a
    /// split over a generic string costs more than the rest of the check.
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> RefreshToken? {
        guard bytes.count <= 128,
            let firstDot = bytes.firstIndex(of: UInt8(ascii: ".")),
            let secondDot = bytes[(firstDot + 1)...].firstIndex(of: UInt8(ascii: "."))
        else { return nil }
        let session = UnsafeBufferPointer(rebasing: bytes[..<firstDot])
        let grant = UnsafeBufferPointer(rebasing: bytes[(firstDot + 1)..<secondDot])
        guard Identifiers.isWellFormed(session), Identifiers.isWellFormed(grant),
            let secret = Base32.decode(UnsafeBufferPointer(rebasing: bytes[(secondDot + 1)...])),
            secret.count == secretByteCount || secret.count == untaggedSecretByteCount
        else { return nil }
        // Identifiers are base32, which is ASCII, so any shard character is one of ours.
        return RefreshToken(
            sessionID: String(decoding: session, as: UTF8.self), grantID: String(decoding: grant, as: UTF8.self), secret: secret)
    }

    /// The successor of this token: same session and grant, a fresh secret.
    public func successor() throws(CryptoError) -> RefreshToken {
        let random = try SecureRandom.bytes(count: Self.randomByteCount)
        return RefreshToken(sessionID: sessionID, grantID: grantID, secret: random + Self.lineageTag(predecessor: verifier, random: random))
    }

    /// The tag a successor of the token with `predecessor` verifier carries after `random`.
    /// SHA-1 because the store's Lua scripts can compute it (`redis.sha1hex`); it only
    /// classifies a refused token, so collision resistance is not what it relies on.
    static func lineageTag(predecessor: [UInt8], random: some Collection<UInt8>) -> [UInt8] {
        Array(Digest.sha1(predecessor + Array(random)).prefix(lineageByteCount))
    }

    /// The random part and the lineage tag (lowercase hex, as `redis.sha1hex` prints it), for
    /// a token that carries one; empty strings for a token from before lineage tags.
    var lineage: (random: [UInt8], tag: String) {
        guard secret.count == Self.secretByteCount else { return ([], "") }
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(Self.lineageByteCount * 2)
        for byte in secret[Self.randomByteCount...] {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0xF)])
        }
        return (Array(secret[..<Self.randomByteCount]), String(decoding: hex, as: UTF8.self))
    }

    /// What the store keeps instead of the token.
    var verifier: [UInt8] { Digest.sha256(Array("hallpass refresh v1|".utf8) + Array(encoded.utf8)) }

    /// `successor`'s secret, encrypted so that only a holder of this token can read it back.
    ///
    /// The store must be able to hand the same successor to a retry within the grace window,
    /// yet it holds no token in the clear. The pad is a hash of this token's full text, which
    /// the store never sees; it is used once, since a token has exactly one successor.
    func seal(successor: RefreshToken) -> [UInt8] {
        zip(successor.secret, pad).map { $0 ^ $1 }
    }

    /// The successor sealed by ``seal(successor:)``, or `nil` if `sealed` is malformed.
    func unseal(_ sealed: [UInt8]) -> RefreshToken? {
        guard sealed.count == Self.secretByteCount || sealed.count == Self.untaggedSecretByteCount else { return nil }
        return RefreshToken(sessionID: sessionID, grantID: grantID, secret: zip(sealed, pad).map { $0 ^ $1 })
    }

    /// 64 bytes, enough for any secret; its first 32 are what untagged secrets were sealed with.
    private var pad: [UInt8] {
        let seed = Array("hallpass successor v1|".utf8) + Array(encoded.utf8)
        return Digest.sha256(seed) + Digest.sha256(Array("hallpass successor v2|".utf8) + Array(encoded.utf8))
    }

    /// Redacted: a token never reaches a log.
    public var description: String { "RefreshToken(sid: \(sessionID), redacted)" }
}
