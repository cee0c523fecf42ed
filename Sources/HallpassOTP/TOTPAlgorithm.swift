import HallpassCrypto

extension TOTP {
    /// The HMAC hash under a one-time password: RFC 6238 §1.2 allows SHA-1, SHA-256 and SHA-512.
    ///
    /// SHA-1 is the default because it is what every authenticator app supports; several
    /// (Google Authenticator among them) silently ignore the `algorithm` parameter of a
    /// provisioning URI and compute SHA-1 codes anyway, so the others are for interop and
    /// for the RFC's test vectors rather than for enrolling phones.
    public enum Algorithm: String, Sendable, Hashable, CaseIterable {
        /// HMAC-SHA-1 (RFC 4226's original, and the authenticator apps' default).
        case sha1 = "SHA1"
        /// HMAC-SHA-256.
        case sha256 = "SHA256"
        /// HMAC-SHA-512.
        case sha512 = "SHA512"

        /// The HMAC of `message` under `key` with this hash.
        func authenticate(key: [UInt8], message: [UInt8]) -> [UInt8] {
            switch self {
            case .sha1: HMAC.sha1(key: key, message: message)
            case .sha256: HMAC.sha256(key: key, message: message)
            case .sha512: HMAC.sha512(key: key, message: message)
            }
        }
    }
}
