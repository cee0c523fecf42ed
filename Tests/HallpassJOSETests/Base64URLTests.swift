import HallpassCrypto
import HallpassJOSE
import Testing

@Suite("Base64URL: strict, unpadded, canonical")
struct Base64URLTests {
    @Test("round trips random bytes of every length from 0 to 64")
    func roundTrips() throws {
        for length in 0...64 {
            let bytes = try SecureRandom.bytes(count: length)
            let text = Base64URL.encode(bytes)
            // Unpadded length: 4 characters per 3 bytes, plus 2 or 3 for a partial group.
            #expect(text.utf8.count == (length * 4 + 2) / 3)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(try Base64URL.decode(text) == bytes)
            // Substrings take the same path as strings.
            let padded = "[" + text + "]"
            let inner = padded.dropFirst().dropLast()
            #expect(try Base64URL.decode(inner) == bytes)
        }
    }

    // RFC 4648 section 10, without the padding RFC 7515 drops.
    @Test("RFC 4648 test vectors")
    func rfc4648Vectors() throws {
        let vectors = ["": "", "f": "Zg", "fo": "Zm8", "foo": "Zm9v", "foob": "Zm9vYg", "fooba": "Zm9vYmE", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
            #expect(try Base64URL.decode(encoded) == Array(plain.utf8))
        }
    }

    @Test("uses - and _ for 62 and 63")
    func urlAlphabet() throws {
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
        #expect(try Base64URL.decode("-_8") == [0xfb, 0xff])
        #expect(Base64URL.encode([0xff, 0xff, 0xff]) == "____")
    }

    @Test("rejects padding")
    func rejectsPadding() {
        #expect(throws: Base64URL.DecodingError.invalidCharacter(offset: 2)) { try Base64URL.decode("QQ==") }
        #expect(throws: Base64URL.DecodingError.invalidCharacter(offset: 3)) { try Base64URL.decode("QUI=") }
    }

    @Test("rejects whitespace anywhere")
    func rejectsWhitespace() {
        #expect(throws: Base64URL.DecodingError.invalidCharacter(offset: 2)) { try Base64URL.decode("QQ \n") }
        #expect(throws: Base64URL.DecodingError.invalidCharacter(offset: 0)) { try Base64URL.decode(" QUJ") }
        #expect(throws: Base64URL.DecodingError.invalidCharacter(offset: 4)) { try Base64URL.decode("Zm9v\nYmF") }
        #expect(throws: Base64URL.DecodingError.invalidCharacter(offset: 2)) { try Base64URL.decode("Zm\t9") }
        #expect(throws: Base64URL.DecodingError.invalidCharacter(offset: 5)) { try Base64URL.decode("Zm9vY\r") }
    }

    @Test("rejects the standard alphabet's + and /")
    func rejectsStandardAlphabet() {
        #expect(throws: Base64URL.DecodingError.invalidCharacter(offset: 0)) { try Base64URL.decode("+_8") }
        #expect(throws: Base64URL.DecodingError.invalidCharacter(offset: 1)) { try Base64URL.decode("-/8") }
        #expect(throws: Base64URL.DecodingError.invalidCharacter(offset: 7)) { try Base64URL.decode("Zm9vYmF/") }
    }

    @Test("rejects bytes outside ASCII")
    func rejectsNonASCII() {
        #expect(throws: Base64URL.DecodingError.invalidCharacter(offset: 1)) { try Base64URL.decode("Zé9") }
        #expect(throws: Base64URL.DecodingError.invalidCharacter(offset: 0)) { try Base64URL.decode("\u{0}AAA") }
    }

    @Test("rejects lengths that are 1 more than a multiple of 4")
    func rejectsImpossibleLength() {
        for text in ["Q", "QUJDR", "QUJDRUZHS"] {
            #expect(throws: Base64URL.DecodingError.invalidLength) { try Base64URL.decode(text) }
        }
    }

    @Test("rejects non-canonical trailing bits")
    func rejectsNonCanonical() throws {
        // 0x41 is "QQ": the second character carries 2 data bits and 4 bits that must be zero.
        #expect(try Base64URL.decode("QQ") == [0x41])
        for text in ["QR", "QT", "QX", "Qf"] {
            #expect(throws: Base64URL.DecodingError.nonCanonical) { try Base64URL.decode(text) }
        }
        // 0x41 0x42 is "QUI": the third character carries 4 data bits and 2 that must be zero.
        #expect(try Base64URL.decode("QUI") == [0x41, 0x42])
        for text in ["QUJ", "QUK", "QUL"] {
            #expect(throws: Base64URL.DecodingError.nonCanonical) { try Base64URL.decode(text) }
        }
        // After a whole group too.
        #expect(throws: Base64URL.DecodingError.nonCanonical) { try Base64URL.decode("Zm9vQR") }
    }

    @Test("every 2- and 3-character tail decodes only in its canonical form")
    func exactlyOneEncodingPerByteString() throws {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var accepted = 0
        for first in alphabet {
            for second in alphabet {
                let text = String([first, second])
                if let bytes = try? Base64URL.decode(text) {
                    accepted += 1
                    #expect(Base64URL.encode(bytes) == text)
                }
            }
        }
        // One accepted spelling per possible byte.
        #expect(accepted == 256)
    }
}
