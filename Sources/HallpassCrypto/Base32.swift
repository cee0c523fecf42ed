/// RFC 4648 base32 in lowercase, without padding: the text form of identifiers and opaque tokens.
///
/// Chosen for these because its alphabet is letters and digits only (`a-z 2-7`): the text is
/// safe in URLs, cookies, file names, Redis keys and shell arguments unquoted, it is never
/// mistaken for an option (it cannot start with `-`), and having one case it never yields two
/// tokens that differ only in case, which case-insensitive stores would conflate. Each character
/// carries 5 bits, so 16 bytes take 26 characters.
///
/// Decoding is strict, so every byte string has exactly one text form and a token cannot be
/// presented in a second spelling that some other component would treat as different: uppercase,
/// padding, whitespace, impossible lengths and nonzero unused trailing bits are all refused.
public enum Base32 {
    /// RFC 4648 section 6's alphabet, lowercased.
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    /// Character value by byte, `0xff` for bytes outside the alphabet.
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (value, character) in alphabet.enumerated() { table[Int(character)] = UInt8(value) }
        return table
    }()

    /// The unpadded lowercase encoding of `bytes`: `⌈8n/5⌉` characters for `n` bytes.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let contiguous = bytes.withContiguousStorageIfAvailable { encode($0) }
        if let contiguous { return contiguous }
        return Array(bytes).withUnsafeBufferPointer { encode($0) }
    }

    /// The unpadded lowercase encoding of `bytes`. The generic form funnels into this one, so
    /// the loop runs over plain memory: identifiers and tokens are encoded on every request.
    public static func encode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count * 8 + 4) / 5)
        // Bits not yet written, right-aligned; `pending` of them (0...4 between bytes).
        var buffer: UInt32 = 0
        var pending = 0
        for byte in bytes {
            buffer = buffer << 8 | UInt32(byte)
            pending += 8
            while pending >= 5 {
                pending -= 5
                output.append(alphabet[Int(buffer >> UInt32(pending) & 0x1f)])
            }
            // Drop the bits already written so the buffer stays small.
            buffer &= (1 << UInt32(pending)) - 1
        }
        if pending > 0 {
            // The last character's unused low bits are zero: the canonical form decode demands.
            output.append(alphabet[Int(buffer << UInt32(5 - pending) & 0x1f)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes canonical text, or returns `nil` if `text` is not exactly what ``encode(_:)``
    /// writes for some byte string.
    ///
    /// Refused: any character outside `a-z 2-7` (uppercase, `=` padding, whitespace, `0 1 8 9`);
    /// lengths of 1, 3 or 6 more than a multiple of 8, which no byte string encodes to; and a
    /// last character whose unused low bits are not zero.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let contiguous = text.utf8.withContiguousStorageIfAvailable { decode($0) }
        if let contiguous { return contiguous }
        return Array(text.utf8).withUnsafeBufferPointer { decode($0) }
    }

    /// Decodes canonical text given as bytes, or returns `nil` (see ``decode(_:)-(StringProtocol)``).
    public static func decode(_ utf8: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(utf8.count * 5 / 8)
        // Bits not yet emitted, right-aligned; `pending` of them (0...7 between characters).
        var buffer: UInt32 = 0
        var pending = 0
        for character in utf8 {
            let value = decodeTable[Int(character)]
            guard value != 0xff else { return nil }
            buffer = buffer << 5 | UInt32(value)
            pending += 5
            if pending >= 8 {
                pending -= 8
                output.append(UInt8(truncatingIfNeeded: buffer >> UInt32(pending)))
            }
            buffer &= (1 << UInt32(pending)) - 1
        }
        // A canonical encoding leaves fewer than 5 bits over (a whole leftover character means an
        // impossible length) and leaves them zero.
        guard pending < 5, buffer == 0 else { return nil }
        return output
    }
}
