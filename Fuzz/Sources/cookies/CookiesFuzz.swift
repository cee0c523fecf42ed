import FuzzSupport
@testable import HeaderShim

/// The hub's `Cookie` header parser (CookieHeader, run on every browser request for the
/// session and CSRF cookies) on any header lines. The first byte picks the cookie's name, the
/// rest split at newlines are the `Cookie` lines. It must not crash, and:
/// - what it finds is non-empty, at most 256 bytes, and holds no `;` and no trailing blank;
/// - `name=<value>` alone reads back as that value;
/// - the lines joined into one with `; ` (as RFC 9113 section 8.2.3 lets a proxy do) read the
///   same, and so do they with an unrelated cookie added;
/// - the cookie sent once more makes it unreadable (a repeated cookie is refused).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCookies(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withInput(data, size) { input in
        guard let selector = input.first else { return }
        let names = ["hallpass_session", "__Host-hallpass", "hallpass_csrf", "__Host-hallpass-csrf"]
        let name = names[Int(selector) % names.count]
        // Header values reach the hub as Strings (invalid UTF-8 repaired), without line breaks.
        let lines = String(decoding: UnsafeBufferPointer(rebasing: input.dropFirst()), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let shown = lines.joined(separator: " | ").prefix(300)
        let found = CookieHeader.value(name, in: lines)

        require(CookieHeader.value(name, in: [lines.joined(separator: "; ")]) == found, "joining the lines changes \(name): \(shown)")
        require(CookieHeader.value(name, in: lines + ["other=1"]) == found, "an unrelated cookie changes \(name): \(shown)")
        require(CookieHeader.value(name, in: ["other=1; " + lines.joined(separator: "; ")]) == found, "a leading cookie changes \(name): \(shown)")
        guard let found else { return }
        let bytes = Array(found.utf8)
        require(!bytes.isEmpty && bytes.count <= CookieHeader.maximumValue, "value of a bad length: \(shown)")
        require(!bytes.contains(UInt8(ascii: ";")), "value holds ';': \(found) (from \(shown))")
        require(bytes.last != UInt8(ascii: " ") && bytes.last != UInt8(ascii: "\t"), "value ends in a blank: \(shown)")
        require(CookieHeader.value(name, in: [name + "=" + found]) == found, "\(name)=\(found) alone reads differently")
        require(CookieHeader.value(name, in: lines + [name + "=x"]) == nil, "a repeated \(name) is read: \(shown)")
    }
    return 0
}
