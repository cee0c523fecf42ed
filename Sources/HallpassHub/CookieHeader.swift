// The `Cookie` request-header parser, apart from HubCookies (which needs Hummingbird's `Request`)
// so that the `cookies` fuzz target compiles this file alone.

/// Reads one cookie out of a request's `Cookie` header lines (RFC 6265 section 5.4: pairs
/// `name=value` separated by `;`).
enum CookieHeader {
    /// The longest cookie value the hub reads: its own cookies are far shorter.
    static let maximumValue = 256

    /// The value of cookie `name` in `headers` (the `Cookie` lines), if sent exactly once,
    /// non-empty and at most ``maximumValue`` bytes; otherwise `nil`.
    ///
    /// Works on bytes, not `Character`s: a combining mark after `;`, `=` or a space would
    /// otherwise join it into one grapheme, hiding the separator (`a=x;\u{301}a=y` read as
    /// one cookie whose value holds `;`), and `==` on strings compares canonical equivalence,
    /// not the bytes the browser sent.
    static func value(_ name: String, in headers: some Sequence<String>) -> String? {
        var found: String?
        var count = 0
        for var header in headers {
            header.withUTF8 { bytes in
                var start = 0
                while start <= bytes.count {
                    let end = bytes[start...].firstIndex(of: UInt8(ascii: ";")) ?? bytes.count
                    let pair = UnsafeBufferPointer(rebasing: bytes[start..<end]).trimmingSpaces
                    start = end + 1
                    guard let equals = pair.firstIndex(of: UInt8(ascii: "=")),
                        UnsafeBufferPointer(rebasing: pair[..<equals]).elementsEqual(name.utf8)
                    else { continue }
                    count += 1
                    // Cut at ASCII bytes of valid UTF-8, so the value is valid UTF-8 too.
                    found = String(decoding: UnsafeBufferPointer(rebasing: pair[(equals + 1)...]), as: UTF8.self)
                }
            }
        }
        guard count == 1, let found, !found.isEmpty, found.utf8.count <= maximumValue else { return nil }
        return found
    }
}
