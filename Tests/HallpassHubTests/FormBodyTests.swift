import Testing

@testable import HallpassHub

@Suite("Form bodies")
struct FormBodyTests {
    private func parse(_ text: String) throws(FormBody.Failure) -> FormBody {
        try FormBody(parsing: Array(text.utf8))
    }

    @Test("names and values are percent-decoded, + is a space, and empty pairs are skipped")
    func decoding() throws {
        let form = try parse("&grant_type=password&username=al%C3%A9+x&&password=a%2Bb%3D%26c&scope=&flag")
        #expect(form.values == ["grant_type": "password", "username": "alé x", "password": "a+b=&c", "scope": "", "flag": ""])
        // An empty value reads as absent, as RFC 6749 section 3.1 says it must be treated.
        #expect(form["scope"] == nil)
        #expect(form["password"] == "a+b=&c")
        #expect(try parse("").values.isEmpty)
        #expect(try parse("a=b=c").values == ["a": "b=c"])
    }

    @Test("a repeated name is refused, even when only its encoding differs")
    func repeated() {
        #expect(throws: FormBody.Failure.repeated("a")) { try parse("a=1&b=2&a=3") }
        #expect(throws: FormBody.Failure.repeated("a")) { try parse("a=1&%61=1") }
    }

    @Test("a truncated or non-hex escape is malformed; bytes that are not UTF-8 are refused")
    func malformed() {
        for text in ["a=%", "a=%4", "a=%zz", "a%=1", "a=%4g"] {
            #expect(throws: FormBody.Failure.malformedEncoding, "\(text)") { try parse(text) }
        }
        #expect(throws: FormBody.Failure.notUTF8) { try parse("a=%FF") }
        #expect(throws: FormBody.Failure.notUTF8) { try FormBody(parsing: [UInt8(ascii: "a"), UInt8(ascii: "="), 0xC3]) }
    }

    @Test("a noncontiguous collection parses the same as contiguous bytes")
    func noncontiguous() throws {
        let text = "grant_type=refresh_token&refresh_token=abc.def%2E"
        let lazy = text.utf8.lazy.map { $0 }
        #expect(try FormBody(parsing: lazy).values == parse(text).values)
    }
}
