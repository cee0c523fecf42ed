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
    /// Authenticated decryption failed: wrong key, wrong associated data, or the data was
    /// altered. The causes are deliberately indistinguishable: telling them apart would help an
    /// attacker probing with forged input, and no caller can act on the difference.
    case decryptionFailed
    /// A symmetric key was given as this many bytes instead of 32 (AES-256).
    case invalidSymmetricKeyLength(Int)
    /// A hex-encoded key, once surrounding whitespace is trimmed, is this many UTF-8 bytes long
    /// instead of 64 hexadecimal digits.
    case invalidKeyHexLength(Int)
    /// A hex-encoded key has a character other than `0-9 a-f A-F` at this UTF-8 offset of the
    /// text as given (untrimmed). The character itself is not reported: it is part of a key.
    case invalidKeyHexCharacter(offset: Int)
    /// Sealed data of this many bytes is too short to hold even a nonce and a tag (28 bytes),
    /// so it was not produced by ``AES256GCM/seal(_:using:authenticating:)``.
    case sealedDataTooShort(Int)

    public var description: String {
        switch self {
        case .openSSL(let operation, let reason): "OpenSSL \(operation) failed: \(reason)"
        case .invalidPEM: "the PEM document is not a supported key"
        case .invalidKeyMaterial(let detail): "invalid key material: \(detail)"
        case .unsupportedKeyType(let type): "unsupported key type \(type)"
        case .rsaKeyTooSmall(let bits): "RSA key of \(bits) bits is too small (minimum 2048)"
        case .decryptionFailed: "decryption failed: wrong key, wrong associated data, or altered data"
        case .invalidSymmetricKeyLength(let count): "a symmetric key must be 32 bytes, not \(count)"
        case .invalidKeyHexLength(let count):
            "a hex key must be 64 hexadecimal digits (openssl rand -hex 32); found \(count) bytes of text after trimming whitespace"
        case .invalidKeyHexCharacter(let offset): "a hex key has a non-hexadecimal character at offset \(offset)"
        case .sealedDataTooShort(let count):
            "sealed data of \(count) bytes is shorter than a nonce and tag (28 bytes)"
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
