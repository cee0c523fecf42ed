/// HOTP, the counter-based one-time password of RFC 4226, on which ``TOTP`` is built
/// (a TOTP code is the HOTP code of the current time step).
public enum HOTP {
    /// The allowed numbers of digits. RFC 4226 §5.3 requires at least 6; the truncated value is
    /// 31 bits (under 2 147 483 648), so a ninth digit or more would add little and a tenth
    /// would be biased, and no authenticator app shows more than 8.
    public static let allowedDigits = 6...8

    /// The `digits`-digit HOTP value of `counter` (RFC 4226 §5.3), zero-padded on the left.
    ///
    /// - Parameters:
    ///   - secret: The shared secret (the HMAC key).
    ///   - counter: The moving factor, as an 8-byte big-endian integer. Negative values are
    ///     taken as their two's-complement bit pattern.
    ///   - digits: 6, 7 or 8 (``allowedDigits``); anything else is a programming error.
    ///   - algorithm: The HMAC hash.
    /// - Returns: Exactly `digits` ASCII digits.
    public static func code(secret: [UInt8], counter: Int64, digits: Int = 6, algorithm: TOTP.Algorithm = .sha1) -> String {
        precondition(allowedDigits.contains(digits), "an HOTP code has 6 to 8 digits")
        let counterBytes = withUnsafeBytes(of: UInt64(bitPattern: counter).bigEndian) { Array($0) }
        let mac = algorithm.authenticate(key: secret, message: counterBytes)
        // Dynamic truncation (RFC 4226 §5.4): the low nibble of the last byte picks 4 bytes,
        // whose top bit is dropped so the value means the same signed or unsigned. The last byte
        // is index 19 for SHA-1 and beyond for the longer hashes (RFC 6238's reference code).
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let binary = UInt32(mac[offset] & 0x7f) << 24
            | UInt32(mac[offset + 1]) << 16
            | UInt32(mac[offset + 2]) << 8
            | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let value = String(binary % modulus)
        return String(repeating: "0", count: digits - value.count) + value
    }
}
