public import HallpassCrypto

/// The code a user types at the hub to approve a device (RFC 8628 section 6.1): eight
/// characters from twenty consonants, shown as `XXXX-XXXX`.
///
/// No vowels (no words), no digits, no look-alikes (`0`/`O`, `1`/`I`/`L`): 20^8, about 2^34.6
/// codes. That is far too few to resist guessing on its own, so the hub throttles wrong codes
/// per client address, and a code lives only as long as its device code.
public struct UserCode: Sendable, Hashable, CustomStringConvertible {
    /// The alphabet of RFC 8628 section 6.1's example.
    public static let alphabet = Array("BCDFGHJKLMNPQRSTVWXZ".utf8)
    /// The number of characters.
    public static let length = 8

    /// The eight characters, uppercase, without the dash.
    public let normalized: String

    /// A new random code.
    public static func generate() throws(CryptoError) -> UserCode {
        // Rejection sampling: 240 is the largest multiple of 20 that fits a byte, so every
        // character is equally likely.
        let limit = UInt8(256 - 256 % alphabet.count)
        var characters: [UInt8] = []
        while characters.count < length {
            for byte in try SecureRandom.bytes(count: 16) where byte < limit && characters.count < length {
                characters.append(alphabet[Int(byte) % alphabet.count])
            }
        }
        return UserCode(normalized: String(decoding: characters, as: UTF8.self))
    }

    private init(normalized: String) { self.normalized = normalized }

    /// Parses what a user typed: case-insensitive, with or without the dash, spaces around or
    /// inside ignored. `nil` for anything that cannot be one of our codes.
    public init?(parsing text: some StringProtocol) {
        guard text.utf8.count <= 32 else { return nil }
        var characters: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "-"), UInt8(ascii: " "): continue
            case UInt8(ascii: "a")...UInt8(ascii: "z"): characters.append(byte - 32)
            default: characters.append(byte)
            }
        }
        guard characters.count == Self.length, characters.allSatisfy(Self.alphabet.contains) else { return nil }
        self.normalized = String(decoding: characters, as: UTF8.self)
    }

    /// `XXXX-XXXX`, as the hub shows it and the device displays it.
    public var display: String {
        String(normalized.prefix(Self.length / 2)) + "-" + String(normalized.suffix(Self.length / 2))
    }

    /// The digest its Redis key is named by: user codes never appear in key names.
    var digest: String { hexString(Digest.sha256(Array("hallpass user code v1|".utf8) + Array(normalized.utf8))) }

    /// Redacted: a user code never reaches a log.
    public var description: String { "UserCode(redacted)" }
}
