public import HallpassCrypto

/// Keys generated once per type and shared by the suites of a test process: RSA generation
/// costs tens of milliseconds, and no test depends on having a key nobody else has used.
public enum SharedKeys {
    private static let p256 = Result { () throws(CryptoError) in try PrivateKey.generate(.p256) }
    private static let ed25519 = Result { () throws(CryptoError) in try PrivateKey.generate(.ed25519) }
    private static let rsa = Result { () throws(CryptoError) in try PrivateKey.generate(.rsa) }
    private static let otherP256 = Result { () throws(CryptoError) in try PrivateKey.generate(.p256) }
    private static let otherEd25519 = Result { () throws(CryptoError) in try PrivateKey.generate(.ed25519) }
    private static let otherRSA = Result { () throws(CryptoError) in try PrivateKey.generate(.rsa) }

    public static func key(_ type: KeyType) throws -> PrivateKey {
        switch type {
        case .p256: try p256.get()
        case .ed25519: try ed25519.get()
        case .rsa: try rsa.get()
        }
    }

    /// A second key of `type`, different from ``key(_:)``.
    public static func other(_ type: KeyType) throws -> PrivateKey {
        switch type {
        case .p256: try otherP256.get()
        case .ed25519: try otherEd25519.get()
        case .rsa: try otherRSA.get()
        }
    }
}
