public import HallpassCrypto

/// An opaque refresh token: `<session id>.<grant id>.<secret>`.
///
/// The secret is 256 bits from OpenSSL's CSPRNG; the store keeps only a SHA-256 verifier of
/// the whole token. The grant id (80 random bits, never shown outside refresh tokens) names
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

    static let secretByteCount = 32
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
        guard text.utf8.count <= 128 else { return nil }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            Identifiers.isWellFormed(parts[0]), StoreSchema.shard(of: parts[0]) != nil,
            Identifiers.isWellFormed(parts[1]),
            let secret = Base32.decode(parts[2]), secret.count == Self.secretByteCount
        else { return nil }
        self.init(sessionID: String(parts[0]), grantID: String(parts[1]), secret: secret)
    }

    /// The successor of this token: same session and grant, a fresh secret.
    public func successor() throws(CryptoError) -> RefreshToken {
        RefreshToken(sessionID: sessionID, grantID: grantID, secret: try SecureRandom.bytes(count: Self.secretByteCount))
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
        guard sealed.count == Self.secretByteCount else { return nil }
        return RefreshToken(sessionID: sessionID, grantID: grantID, secret: zip(sealed, pad).map { $0 ^ $1 })
    }

    private var pad: [UInt8] { Digest.sha256(Array("hallpass successor v1|".utf8) + Array(encoded.utf8)) }

    /// Redacted: a token never reaches a log.
    public var description: String { "RefreshToken(sid: \(sessionID), redacted)" }
}
