// Kept apart from HTTPPlumbing.swift (which needs Hummingbird) because the header parsers that
// use these (BasicCredentials, CookieHeader) are also compiled alone into the fuzz targets' shims.

// Header values are read as bytes: walking them by `Character` costs microseconds of grapheme
// breaking on requests that every client sends.
extension UnsafeBufferPointer<UInt8> {
    /// Whether these bytes spell `expected` (lowercase ASCII) in any case.
    func equalsIgnoringASCIICase(_ expected: StaticString) -> Bool {
        guard count == expected.utf8CodeUnitCount else { return false }
        return zip(self, UnsafeBufferPointer(start: expected.utf8Start, count: count)).allSatisfy { byte, lower in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 0x20 == lower : byte == lower
        }
    }

    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: UnsafeBufferPointer<UInt8> {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return UnsafeBufferPointer(rebasing: self[0..<0])
        }
        return UnsafeBufferPointer(rebasing: self[first...last])
    }
}
