import COpenSSL

/// One-shot HMAC (RFC 2104) through OpenSSL's `HMAC()`: the keyed hash under HOTP and TOTP
/// one-time passwords (RFC 4226, RFC 6238), which name HMAC-SHA-1, -SHA-256 and -SHA-512.
///
/// HMAC-SHA-1 is still sound as a MAC (its security rests on SHA-1 as a pseudorandom function,
/// not on collision resistance), which is why RFC 6238 authenticator apps keep it as the default.
public enum HMAC {
    /// HMAC-SHA-1 of `message` under `key` (20 bytes).
    public static func sha1(key: some Sequence<UInt8>, message: some Sequence<UInt8>) -> [UInt8] {
        authenticate(key: key, message: message, EVP_sha1(), length: 20)
    }

    /// HMAC-SHA-256 of `message` under `key` (32 bytes).
    public static func sha256(key: some Sequence<UInt8>, message: some Sequence<UInt8>) -> [UInt8] {
        authenticate(key: key, message: message, EVP_sha256(), length: 32)
    }

    /// HMAC-SHA-512 of `message` under `key` (64 bytes).
    public static func sha512(key: some Sequence<UInt8>, message: some Sequence<UInt8>) -> [UInt8] {
        authenticate(key: key, message: message, EVP_sha512(), length: 64)
    }

    private static func authenticate(
        key: some Sequence<UInt8>,
        message: some Sequence<UInt8>,
        _ md: OpaquePointer?,
        length: Int
    ) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: length)
        var outputLength: UInt32 = 0
        // An empty array may have no address, and OpenSSL treats a NULL key or message
        // differently from an empty one in some versions: point at a real byte instead.
        var placeholder: UInt8 = 0
        let written = withContiguousBytes(key) { keyBytes in
            // HMAC takes the key length as an int; keys here are tens of bytes.
            precondition(keyBytes.count <= Int(Int32.max), "HMAC key too long")
            return withContiguousBytes(message) { messageBytes in
                output.withUnsafeMutableBufferPointer { out in
                    withUnsafeMutablePointer(to: &placeholder) { empty in
                        // Module-qualified: inside this enum, a bare `HMAC` names the enum.
                        COpenSSL.HMAC(
                            md,
                            keyBytes.count > 0 ? keyBytes.baseAddress : UnsafeRawPointer(empty),
                            Int32(keyBytes.count),
                            messageBytes.count > 0
                                ? messageBytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
                                : UnsafePointer(empty),
                            messageBytes.count,
                            out.baseAddress,
                            &outputLength
                        ) != nil
                    }
                }
            }
        }
        // As with Digest: HMAC only fails on allocation failure or a missing built-in digest,
        // neither recoverable, and a wrong MAC would be worse than stopping.
        precondition(written && Int(outputLength) == length, "HMAC failed")
        return output
    }
}
