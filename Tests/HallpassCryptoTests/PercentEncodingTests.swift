import HallpassCrypto
import Testing

@Suite("Percent-encoding")
struct PercentEncodingTests {
    @Test("everything but the unreserved characters is encoded, as UTF-8, in capitals")
    func encode() {
        #expect(PercentEncoding.encode("AZaz09-._~") == "AZaz09-._~")
        #expect(PercentEncoding.encode("alice@example.com") == "alice%40example.com")
        #expect(PercentEncoding.encode("a b+c&d=e:f/g?h#i%j'") == "a%20b%2Bc%26d%3De%3Af%2Fg%3Fh%23i%25j%27")
        #expect(PercentEncoding.encode("zoë ☃") == "zo%C3%AB%20%E2%98%83")
        #expect(PercentEncoding.encode("") == "")
    }

    @Test("decoding what encode wrote gives the text back")
    func roundTrip() {
        for text in ["Hallpass & Co.", "zoë.o'brien+mfa@example.com", "100% ☃ \u{0}\n"] {
            let encoded = PercentEncoding.encode(text)
            #expect(PercentEncoding.decode(Array(encoded.utf8), plusIsSpace: true) == Array(text.utf8))
            #expect(PercentEncoding.decode(Array(encoded.utf8), plusIsSpace: false) == Array(text.utf8))
        }
    }
}
