import Foundation
import HallpassCrypto
import Testing

@Suite("UnpaddedBase64: both alphabets, strict and canonical")
struct UnpaddedBase64Tests {
    /// Foundation's encoder, unpadded and optionally mapped to the URL alphabet: an
    /// implementation independent of the one under test.
    static func reference(_ bytes: [UInt8], url: Bool) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return url ? text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_") : text
    }

    @Test("agrees with Foundation on random bytes of every length from 0 to 64")
    func agreesWithFoundation() throws {
        for length in 0...64 {
            // Several draws per length, so both alphabets' last two characters turn up.
            for _ in 0..<8 {
                let bytes = try SecureRandom.bytes(count: length)
                for (codec, url) in [(UnpaddedBase64.standard, false), (UnpaddedBase64.url, true)] {
                    let text = codec.encode(bytes)
                    #expect(text == Self.reference(bytes, url: url))
                    #expect(try codec.decode(text) == bytes)
                }
            }
        }
    }

    // RFC 4648 section 10, without padding.
    @Test("RFC 4648 test vectors")
    func rfc4648Vectors() throws {
        let vectors = ["": "", "f": "Zg", "fo": "Zm8", "foo": "Zm9v", "foob": "Zm9vYg", "fooba": "Zm9vYmE", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            for codec in [UnpaddedBase64.standard, .url] {
                #expect(codec.encode(Array(plain.utf8)) == encoded)
                #expect(try codec.decode(encoded) == Array(plain.utf8))
            }
        }
    }

    @Test("each alphabet refuses the other's 62nd and 63rd characters")
    func alphabetsAreDistinct() throws {
        #expect(UnpaddedBase64.standard.encode([0xfb, 0xff]) == "+/8")
        #expect(UnpaddedBase64.url.encode([0xfb, 0xff]) == "-_8")
        #expect(try UnpaddedBase64.standard.decode("+/8") == [0xfb, 0xff])
        #expect(throws: UnpaddedBase64.DecodingError.invalidCharacter(offset: 0)) { try UnpaddedBase64.standard.decode("-_8") }
        #expect(throws: UnpaddedBase64.DecodingError.invalidCharacter(offset: 1)) { try UnpaddedBase64.standard.decode("+_8") }
        #expect(throws: UnpaddedBase64.DecodingError.invalidCharacter(offset: 0)) { try UnpaddedBase64.url.decode("+/8") }
    }

    @Test("refuses padding, whitespace, impossible lengths and non-canonical tails")
    func strictness() throws {
        for codec in [UnpaddedBase64.standard, .url] {
            #expect(throws: UnpaddedBase64.DecodingError.invalidCharacter(offset: 2)) { try codec.decode("QQ==") }
            #expect(throws: UnpaddedBase64.DecodingError.invalidCharacter(offset: 4)) { try codec.decode("Zm9v\nYmF") }
            #expect(throws: UnpaddedBase64.DecodingError.invalidCharacter(offset: 0)) { try codec.decode(" QUJ") }
            #expect(throws: UnpaddedBase64.DecodingError.invalidLength) { try codec.decode("QUJDR") }
            #expect(try codec.decode("QQ") == [0x41])
            #expect(throws: UnpaddedBase64.DecodingError.nonCanonical) { try codec.decode("QR") }
            #expect(try codec.decode("QUI") == [0x41, 0x42])
            #expect(throws: UnpaddedBase64.DecodingError.nonCanonical) { try codec.decode("QUJ") }
        }
    }
}
