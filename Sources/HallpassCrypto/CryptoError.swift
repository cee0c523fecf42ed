import COpenSSL

/// What went wrong inside a cryptographic operation.
///
/// The messages name the operation and OpenSSL's reason, never key material.
public enum CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// OpenSSL reported a failure in `operation`; `reason` is its error-queue text.
    case openSSL(operation: String, reason: String)
    /// A PEM document could not be read as a key of a kind Hallpass supports.
    case invalidPEM
    /// Raw key material had the wrong length or shape for the key type.
    case invalidKeyMaterial(String)
    /// The key type is not one Hallpass signs or verifies with.
    case unsupportedKeyType(String)
    /// An RSA key is smaller than Hallpass accepts.
    case rsaKeyTooSmall(bits: Int)
    /// Authenticated decryption failed: wrong key, or the data was altered.
    case decryptionFailed

    public var description: String {
        switch self {
        case .openSSL(let operation, let reason): "OpenSSL \(operation) failed: \(reason)"
        case .invalidPEM: "the PEM document is not a supported key"
        case .invalidKeyMaterial(let detail): "invalid key material: \(detail)"
        case .unsupportedKeyType(let type): "unsupported key type \(type)"
        case .rsaKeyTooSmall(let bits): "RSA key of \(bits) bits is too small (minimum 2048)"
        case .decryptionFailed: "decryption failed: wrong key or altered data"
        }
    }

    /// Builds an error from OpenSSL's thread-local error queue, draining it.
    static func fromQueue(_ operation: String) -> CryptoError {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return .openSSL(operation: operation, reason: reasons.isEmpty ? "unknown error" : reasons.joined(separator: "; "))
    }
}
