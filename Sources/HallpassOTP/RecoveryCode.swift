public import HallpassCrypto

/// A single-use recovery code: what a user types when the authenticator app is lost.
///
/// A code is 80 bits from OpenSSL's CSPRNG written as 16 characters of Crockford's base32
/// alphabet in lowercase (`0-9 a-z` without `i l o u`), shown in four groups of four:
/// `abcd-efgh-jkmn-pqrs`. Leaving out `i`, `l` and `o` means nothing on paper can be misread
/// as another valid character; typed input reading `i`, `l` or `o` is taken as `1`, `1` and `0`
/// (Crockford's rule), since those are what the user must have meant.
///
/// Only ``hash(_:)`` of a code is stored; the store deletes a hash when its code is used, which
/// is what makes the codes single-use. The text itself is never in `description`.
public struct RecoveryCode: Sendable {
    /// The 16 characters without dashes, lowercase: the form that is hashed.
    public let normalizedText: String

    /// The form to show: four groups of four characters joined by dashes, `abcd-efgh-jkmn-pqrs`.
    public var displayText: String {
        let characters = Array(normalizedText)
        return stride(from: 0, to: characters.count, by: Self.groupLength)
            .map { String(characters[$0..<min($0 + Self.groupLength, characters.count)]) }
            .joined(separator: "-")
    }

    /// The hex SHA-256 to store for this code (``hash(_:)`` of ``normalizedText``).
    public var hash: String { Self.hash(normalizedText) }

    /// Crockford's base32 alphabet, lowercase: 32 symbols, 5 bits each.
    static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)
    /// The number of characters in a code: 16 × 5 = 80 bits.
    public static let length = 16
    /// The characters between dashes in ``displayText``.
    static let groupLength = 4
    /// The random bytes behind one code: exactly the 80 bits its 16 characters carry.
    static let byteCount = 10

    /// The value of each input byte, after case folding and Crockford's aliases, or 0xff.
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (value, character) in alphabet.enumerated() {
            table[Int(character)] = UInt8(value)
            // Uppercase letters mean the same (the digits' "uppercase" is themselves).
            if character >= UInt8(ascii: "a") { table[Int(character - 0x20)] = UInt8(value) }
        }
        let aliases: [(UInt8, UInt8)] = [(UInt8(ascii: "i"), 1), (UInt8(ascii: "l"), 1), (UInt8(ascii: "o"), 0)]
        for (alias, value) in aliases {
            table[Int(alias)] = value
            table[Int(alias - 0x20)] = value
        }
        return table
    }()

    /// Reads a code as a user typed it, or returns `nil` if it is not one (see ``normalized(_:)``).
    public init?(_ input: some StringProtocol) {
        guard let normalized = Self.normalized(input) else { return nil }
        self.normalizedText = normalized
    }

    private init(normalizedText: String) {
        self.normalizedText = normalizedText
    }

    /// `count` new codes, all different, each from 80 fresh bits of OpenSSL's CSPRNG.
    ///
    /// - Throws: ``CryptoError`` if the generator fails (it does not on a working system); codes
    ///   from any weaker source would be worse than none.
    public static func generate(count: Int = 10) throws(CryptoError) -> [RecoveryCode] {
        precondition(count >= 0, "a number of codes is 0 or more")
        var codes: [RecoveryCode] = []
        var seen: Set<String> = []
        // Two equal codes among ten have probability about 2^-74; the check costs nothing and
        // keeps even that from ever handing a user a list with a repeat.
        while codes.count < count {
            let code = RecoveryCode(normalizedText: encode(try SecureRandom.bytes(count: byteCount)))
            if seen.insert(code.normalizedText).inserted { codes.append(code) }
        }
        return codes
    }

    /// The canonical form of a typed code (16 lowercase characters, no dashes), or `nil`.
    ///
    /// Case, dashes and spaces are ignored, and `i`, `l`, `o` are read as `1`, `1`, `0`; any other
    /// character (including `u`, punctuation, tabs and non-ASCII) or a length other than 16
    /// characters refuses the input.
    public static func normalized(_ input: some StringProtocol) -> String? {
        var output: [UInt8] = []
        output.reserveCapacity(length)
        for byte in input.utf8 {
            if byte == UInt8(ascii: "-") || byte == UInt8(ascii: " ") { continue }
            let value = decodeTable[Int(byte)]
            guard value != 0xff, output.count < length else { return nil }
            output.append(alphabet[Int(value)])
        }
        guard output.count == length else { return nil }
        return String(decoding: output, as: UTF8.self)
    }

    /// The value to store for a code: lowercase hex SHA-256 of its normalized text.
    ///
    /// A plain fast hash is enough here, unlike for passwords (which get Argon2id): a code
    /// carries 80 random bits, so even with a stolen hash a search needs ~2^79 SHA-256
    /// evaluations, and a slow hash would only slow down every honest check.
    ///
    /// - Parameter normalized: The output of ``normalized(_:)`` (or ``normalizedText``).
    public static func hash(_ normalized: String) -> String {
        hexString(Digest.sha256(normalized.utf8))
    }

    /// Whether `hash` (as stored from ``hash``) is this code's hash, compared in constant time
    /// so that the time taken says nothing about how many leading characters agree.
    public func matches(hash storedHash: String) -> Bool {
        ConstantTime.equals(hash.utf8, storedHash.utf8)
    }

    /// 10 bytes from the CSPRNG.
    /// 80 bits as 16 alphabet characters, most significant first.
    private static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(length)
        var buffer: UInt32 = 0
        var pending = 0
        for byte in bytes {
            buffer = buffer << 8 | UInt32(byte)
            pending += 8
            while pending >= 5 {
                pending -= 5
                output.append(alphabet[Int(buffer >> UInt32(pending) & 0x1f)])
            }
            buffer &= (1 << UInt32(pending)) - 1
        }
        return String(decoding: output, as: UTF8.self)
    }
}

extension RecoveryCode: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// A placeholder: never the code, so a logged value does not hand out a login.
    public var description: String { "RecoveryCode(redacted)" }

    /// The same as ``description``.
    public var debugDescription: String { description }

    /// A mirror with no children, so `dump` and debuggers do not show the code.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
