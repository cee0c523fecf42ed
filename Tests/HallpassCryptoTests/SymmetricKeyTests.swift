@testable import HallpassCrypto
import Testing

@Suite("SymmetricKey: raw bytes, hex key files, generation, redaction")
struct SymmetricKeyTests {
    /// 00 01 02 … 1f: every byte distinct, so a leak in any form is recognizable.
    static let counting: [UInt8] = Array(0..<32)
    static let countingHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

    @Test("init(bytes:) takes exactly 32 bytes")
    func rawBytes() throws {
        #expect(try SymmetricKey(bytes: Self.counting).bytes == Self.counting)
        for length in [0, 1, 16, 31, 33, 64] {
            #expect(throws: CryptoError.invalidSymmetricKeyLength(length)) {
                try SymmetricKey(bytes: [UInt8](repeating: 7, count: length))
            }
        }
    }

    @Test("init(hex:) reads a key file: either case, surrounding whitespace and newline ignored")
    func hexParsing() throws {
        for text in [
            Self.countingHex,
            Self.countingHex.uppercased(),
            Self.countingHex + "\n",                     // what `openssl rand -hex 32 > kek` writes
            Self.countingHex + "\r\n",
            "  \t" + Self.countingHex + " \n\n",
            "\u{0b}\u{0c}" + Self.countingHex,           // vertical tab, form feed
        ] {
            #expect(try SymmetricKey(hex: text).bytes == Self.counting, "\(text.debugDescription)")
        }
        // Mixed case, and a Substring.
        let mixed = "000102030405060708090A0b0C0d0E0f101112131415161718191A1B1c1D1e1F"
        #expect(try SymmetricKey(hex: mixed).bytes == Self.counting)
        let line = "kek=" + Self.countingHex + ";"
        #expect(try SymmetricKey(hex: line.dropFirst(4).dropLast()).bytes == Self.counting)
    }

    @Test("init(hex:) refuses other lengths, reporting the trimmed length")
    func hexWrongLength() {
        let cases: [(String, Int)] = [
            ("", 0),
            (" \n", 0),
            (String(Self.countingHex.dropLast(2)), 62),
            (String(Self.countingHex.dropLast()), 63),
            (Self.countingHex + "0", 65),
            (Self.countingHex + "00\n", 66),
            ("0x" + Self.countingHex, 66),
            // 32 bytes in base64 is 44 characters: the wrong format, reported as a length.
            ("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 44),
        ]
        for (text, length) in cases {
            #expect(throws: CryptoError.invalidKeyHexLength(length), "\(text.debugDescription)") {
                try SymmetricKey(hex: text)
            }
        }
    }

    @Test("init(hex:) refuses non-hex characters, reporting the offset in the untrimmed text")
    func hexInvalidCharacter() {
        var withG = Array(Self.countingHex.utf8)
        withG[10] = UInt8(ascii: "g")
        #expect(throws: CryptoError.invalidKeyHexCharacter(offset: 10)) {
            try SymmetricKey(hex: String(decoding: withG, as: UTF8.self))
        }
        var lowNibble = Array(Self.countingHex.utf8)
        lowNibble[63] = UInt8(ascii: "z")
        #expect(throws: CryptoError.invalidKeyHexCharacter(offset: 63)) {
            try SymmetricKey(hex: String(decoding: lowNibble, as: UTF8.self))
        }
        // Offsets count from the start of the text as given, leading whitespace included.
        #expect(throws: CryptoError.invalidKeyHexCharacter(offset: 3)) {
            try SymmetricKey(hex: "\n\n0" + "-" + Self.countingHex.dropFirst(2))
        }
        // Whitespace inside the digits is not trimmed.
        #expect(throws: CryptoError.invalidKeyHexCharacter(offset: 32)) {
            try SymmetricKey(hex: Self.countingHex.prefix(32) + " " + Self.countingHex.dropFirst(33))
        }
        // A non-ASCII character (2 UTF-8 bytes) in a text of the right byte length.
        #expect(throws: CryptoError.invalidKeyHexCharacter(offset: 0)) {
            try SymmetricKey(hex: "\u{e9}" + Self.countingHex.dropFirst(2))
        }
    }

    @Test("a hex key and the same raw bytes are the same key")
    func hexAndBytesAgree() throws {
        let fromHex = try SymmetricKey(hex: Self.countingHex + "\n")
        let fromBytes = try SymmetricKey(bytes: Self.counting)
        let sealed = try AES256GCM.seal(Array("wrapped".utf8), using: fromHex)
        #expect(try AES256GCM.open(sealed, using: fromBytes) == Array("wrapped".utf8))
    }

    @Test("generate returns fresh 32-byte keys")
    func generate() {
        let first = SymmetricKey.generate()
        let second = SymmetricKey.generate()
        #expect(first.bytes.count == 32)
        #expect(second.bytes.count == 32)
        // Equal keys have probability 2^-256: seeing one means the generator is broken.
        #expect(first.bytes != second.bytes)
    }

    @Test("description, debugDescription, interpolation and dump never show the key")
    func redacted() throws {
        let key = try SymmetricKey(bytes: Self.counting)
        var dumped = ""
        dump(key, to: &dumped)
        for text in [String(describing: key), String(reflecting: key), "\(key)", dumped, String(describing: [key])] {
            #expect(text.contains("redacted"), "\(text)")
            #expect(!text.lowercased().contains("0102030405"), "\(text)")
            #expect(!text.contains("1, 2, 3"), "\(text)")
            #expect(!text.contains("bytes"), "\(text)")
        }
    }
}
