public import HallpassCrypto

/// Identifiers and opaque secrets: lowercase base32 from OpenSSL's CSPRNG.
///
/// Base32 never begins with `-`, so no identifier or secret can be mistaken for a command-line
/// option, and it survives URLs, forms and shells without escaping.
public enum Identifiers {
    static func alphabetIndex(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"): Int(byte - UInt8(ascii: "a"))
        case UInt8(ascii: "2")...UInt8(ascii: "7"): Int(byte - UInt8(ascii: "2")) + 26
        default: nil
        }
    }

    /// A new random identifier of 128 bits (26 characters).
    public static func make() throws(CryptoError) -> String {
        Base32.encode(try SecureRandom.bytes(count: 16))
    }

    /// A new identifier in the same shard as `owner`: its first character is `owner`'s, so
    /// it keeps 123 random bits.
    public static func make(inShardOf owner: String) throws(CryptoError) -> String {
        let fresh = try make()
        guard let first = owner.first else { return fresh }
        return String(first) + fresh.dropFirst()
    }

    /// Whether `text` looks like an identifier we issue: 1…64 lowercase base32 characters.
    public static func isWellFormed(_ text: some StringProtocol) -> Bool {
        let utf8 = text.utf8
        return (1...64).contains(utf8.count) && utf8.allSatisfy { alphabetIndex($0) != nil }
    }

    /// Whether `bytes` look like an identifier we issue.
    static func isWellFormed(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        (1...64).contains(bytes.count) && bytes.allSatisfy { alphabetIndex($0) != nil }
    }
}
