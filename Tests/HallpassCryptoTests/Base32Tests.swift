import HallpassCrypto
import Testing

@Suite("Base32: RFC 4648, lowercase, unpadded, strict")
struct Base32Tests {
    /// A deliberately naive encoder, written bit by bit from RFC 4648's description, to check the
    /// buffered implementation against something independent of it.
    static func reference(_ bytes: [UInt8]) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        var bits: [Int] = bytes.flatMap { byte in (0..<8).reversed().map { Int(byte >> UInt8($0) & 1) } }
        while bits.count % 5 != 0 { bits.append(0) }
        return String(stride(from: 0, to: bits.count, by: 5).map { start in
            alphabet[bits[start..<start + 5].reduce(0) { $0 << 1 | $1 }]
        })
    }

    // RFC 4648 section 10, lowercased and with the padding stripped.
    @Test("RFC 4648 section 10 test vectors")
    func rfc4648Vectors() {
        let vectors = [
            "": "", "f": "my", "fo": "mzxq", "foo": "mzxw6", "foob": "mzxw6yq", "fooba": "mzxw6ytb",
            "foobar": "mzxw6ytboi",
        ]
        for (plain, encoded) in vectors {
            #expect(Base32.encode(Array(plain.utf8)) == encoded)
            #expect(Base32.decode(encoded) == Array(plain.utf8))
        }
    }

    @Test("round trips random bytes of every length from 0 to 64, agreeing with a reference")
    func roundTrip() throws {
        for length in 0...64 {
            // Several draws per length, so that every character turns up in every position.
            for _ in 0..<8 {
                let bytes = try SecureRandom.bytes(count: length)
                let text = Base32.encode(bytes)
                #expect(text == Self.reference(bytes))
                #expect(text.utf8.count == (length * 8 + 4) / 5)
                #expect(text.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x32...0x37).contains($0) })
                #expect(!text.hasPrefix("-"))
                #expect(Base32.decode(text) == bytes)
            }
        }
    }

    @Test("accepts any collection of bytes and any StringProtocol")
    func genericInputs() {
        #expect(Base32.encode("foobar".utf8) == "mzxw6ytboi")
        #expect(Base32.encode(Array("xfoobar".utf8).dropFirst()) == "mzxw6ytboi")
        #expect(Base32.encode("foobar".utf8.lazy.map { $0 }) == "mzxw6ytboi")
        let line = "id=mzxw6ytboi;"
        #expect(Base32.decode(line.dropFirst(3).dropLast()) == Array("foobar".utf8))
        #expect(Base32.encode([0xff, 0xff, 0xff, 0xff, 0xff]) == "77777777")
        #expect(Base32.decode("77777777") == [0xff, 0xff, 0xff, 0xff, 0xff])
        #expect(Base32.encode([0, 0, 0, 0, 0]) == "aaaaaaaa")
    }

    @Test("refuses uppercase, padding, whitespace and characters outside the alphabet")
    func refusesCharacters() {
        for text in [
            "MY", "Mzxw6", "mzxW6",                   // uppercase: one spelling per value
            "my======", "my=", "mzxw6===",            // padding
            " my", "my\n", "mz xw6", "mzxw6\t",       // whitespace
            "m0", "m1", "m8", "m9", "01",             // digits outside 2-7
            "my-", "-my", "m_", "m+", "m/", "m.",     // other ASCII
            "m\u{e9}", "\u{0}my",                     // non-ASCII and NUL
        ] {
            #expect(Base32.decode(text) == nil, "\(text.debugDescription)")
        }
    }

    @Test("refuses impossible lengths and non-canonical trailing bits")
    func refusesNonCanonical() {
        // 1, 3 and 6 more than a multiple of 8 characters encode no byte string.
        for text in ["m", "mzx", "mzxw6y", "mzxw6ytbo", "mzxw6ytbmzx", "mzxw6ytbmzxw6y"] {
            #expect(Base32.decode(text) == nil, "\(text)")
        }
        // One byte is two characters with 2 spare bits: "my" (01100 11000) is "f" and "m4"
        // (01100 11100) is "g", but a last character with either spare bit set is refused.
        #expect(Base32.decode("my") == [0x66])
        #expect(Base32.decode("m4") == [0x67])
        for last in ["z", "2", "3", "5", "6", "7"] {
            #expect(Base32.decode("m" + last) == nil, "m\(last)")
        }
        // Each valid remainder, with its lowest unused bit set: 4 chars (4 spare bits),
        // 5 chars (1 spare bit), 7 chars (3 spare bits).
        #expect(Base32.decode("mzxq") == Array("fo".utf8))
        #expect(Base32.decode("mzxr") == nil)
        #expect(Base32.decode("mzxw6") == Array("foo".utf8))
        #expect(Base32.decode("mzxw7") == nil)
        #expect(Base32.decode("mzxw6yq") == Array("foob".utf8))
        #expect(Base32.decode("mzxw6yr") == nil)
        #expect(Base32.decode("") == [])
    }
}
