import Testing

@testable import HallpassHub

@Suite("Cookie header")
struct CookieHeaderTests {
    @Test("a cookie sent once is read; sent twice, empty or too long it is not")
    func reading() {
        #expect(CookieHeader.value("s", in: ["a=1; s=x.y ;\tb=2"]) == "x.y")
        #expect(CookieHeader.value("s", in: ["a=1", "s=x"]) == "x")
        #expect(CookieHeader.value("s", in: ["s=x; s=y"]) == nil)
        #expect(CookieHeader.value("s", in: ["s=x", "s=x"]) == nil)
        #expect(CookieHeader.value("s", in: ["s=", "a=1"]) == nil)
        #expect(CookieHeader.value("s", in: ["s=" + String(repeating: "v", count: 257)]) == nil)
        #expect(CookieHeader.value("s", in: ["ss=x; s"]) == nil)
    }

    /// Read by `Character`, `;\u{301}` was one grapheme, not the separator: the value ran on
    /// through it into the next pair (`abc;\u{301}s=evil`).
    @Test("a combining mark after ';' or '=' does not hide it")
    func combiningMarks() {
        #expect(CookieHeader.value("s", in: ["s=abc;\u{301}s=evil"]) == "abc")
        #expect(CookieHeader.value("s", in: ["s=abc;\u{301}t=1"]) == "abc")
        #expect(CookieHeader.value("s", in: ["s=\u{301}v"]) == "\u{301}v")
        // Names compare by bytes: U+212A KELVIN SIGN is canonically equivalent to "K" only.
        #expect(CookieHeader.value("K", in: ["\u{212A}=v"]) == nil)
    }
}
