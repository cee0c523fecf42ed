public import HallpassCrypto

/// The JWS algorithms Hallpass signs and accepts (RFC 7518, RFC 8037).
///
/// There is deliberately no `none` and no HMAC: a verifier holding only public keys must never
/// be talked into treating a public key as a shared secret (RFC 8725 sections 2.1 and 3.1).
public enum JWSAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// ECDSA using P-256 and SHA-256.
    case es256 = "ES256"
    /// Ed25519 (RFC 8037).
    case edDSA = "EdDSA"
    /// RSASSA-PKCS1-v1_5 using SHA-256.
    case rs256 = "RS256"

    /// The one algorithm a key of `keyType` signs with.
    public init(keyType: KeyType) {
        switch keyType {
        case .p256: self = .es256
        case .ed25519: self = .edDSA
        case .rsa: self = .rs256
        }
    }

    /// The key type this algorithm needs.
    public var keyType: KeyType {
        switch self {
        case .es256: .p256
        case .edDSA: .ed25519
        case .rs256: .rsa
        }
    }
}
