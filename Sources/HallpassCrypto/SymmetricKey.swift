/// A 256-bit secret key for ``AES256GCM``.
///
/// The bytes never leave the module: there is no accessor, and `description`, `debugDescription`
/// and `dump` print a placeholder, so a key cannot end up in a log by accident. There is no `==`
/// either: comparing keys is almost always a mistake, and a naive comparison would leak timing.
///
/// The bytes live in an ordinary Swift array; they are not wiped from memory when the key is
/// released (copy-on-write makes that impossible to promise).
public struct SymmetricKey: Sendable {
    /// AES-256 takes exactly 32 bytes.
    static let byteCount = 32

    /// Exactly ``byteCount`` bytes; checked by every initializer.
    let bytes: [UInt8]

    /// A key made of exactly these 32 bytes.
    ///
    /// - Throws: ``CryptoError/invalidSymmetricKeyLength(_:)`` for any other length: a shorter key
    ///   would silently be a weaker cipher, and a longer one would have to be truncated.
    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.byteCount else { throw .invalidSymmetricKeyLength(bytes.count) }
        self.bytes = bytes
    }

    /// A key read from 64 hexadecimal digits (either case), as `openssl rand -hex 32 > kek`
    /// writes a key-encryption-key file.
    ///
    /// Surrounding ASCII whitespace (space, tab, newline, carriage return, vertical tab, form
    /// feed) is ignored, so the file can be passed as read, trailing newline included. Nothing
    /// else is tolerated: no `0x` prefix, no separators, no whitespace between digits.
    ///
    /// - Throws: ``CryptoError/invalidKeyHexLength(_:)`` when the trimmed text is not 64 bytes
    ///   long, ``CryptoError/invalidKeyHexCharacter(offset:)`` for the first non-hex character.
    ///   Neither error repeats any of the text, since it is (nearly) a key.
    public init(hex: some StringProtocol) throws(CryptoError) {
        let text = Array(hex.utf8)
        var start = 0
        var end = text.count
        while start < end, Self.isASCIIWhitespace(text[start]) { start += 1 }
        while end > start, Self.isASCIIWhitespace(text[end - 1]) { end -= 1 }
        // Length first: a key pasted in another encoding (base64 is 44 characters) is then
        // reported as the wrong format rather than as a stray character.
        guard end - start == 2 * Self.byteCount else { throw .invalidKeyHexLength(end - start) }

        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.byteCount)
        var index = start
        while index < end {
            guard let high = PercentEncoding.hexValue(text[index]) else { throw .invalidKeyHexCharacter(offset: index) }
            guard let low = PercentEncoding.hexValue(text[index + 1]) else { throw .invalidKeyHexCharacter(offset: index + 1) }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.bytes = bytes
    }

    /// A fresh key from OpenSSL's CSPRNG (``SecureRandom``).
    ///
    /// Stops the process if the generator fails. That does not happen on a working system, and
    /// there is no safe fallback: a key from any weaker source would be worse than no key.
    public static func generate() -> SymmetricKey {
        do {
            return try SymmetricKey(bytes: SecureRandom.bytes(count: byteCount))
        } catch {
            // The error text comes from OpenSSL's queue and holds no key material.
            preconditionFailure("cannot generate a symmetric key: \(error)")
        }
    }

    private static func isASCIIWhitespace(_ byte: UInt8) -> Bool {
        // Space, then \t \n \v \f \r (0x09...0x0d): what `isspace` accepts in the C locale.
        byte == 0x20 || (0x09...0x0d).contains(byte)
    }
}

extension SymmetricKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// A placeholder: never the key bytes.
    public var description: String { "SymmetricKey(redacted)" }

    /// A placeholder: never the key bytes.
    public var debugDescription: String { description }

    /// A mirror with no children, so `dump` and debuggers' summaries do not walk into the bytes.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
