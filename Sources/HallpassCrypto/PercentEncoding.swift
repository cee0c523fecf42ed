/// Hex digits and percent-decoding, written once for the formats that need them: key files
/// (hex), `redis://` URLs (RFC 3986) and form bodies (`application/x-www-form-urlencoded`).
public enum PercentEncoding {
    /// The value of one ASCII hex digit (either case), or `nil`.
    public static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The bytes `encoded` stands for, or `nil` if a `%` is not followed by two hex digits.
    ///
    /// - Parameter plusIsSpace: Whether `+` means a space, as in form bodies (but not in URLs).
    public static func decode(_ encoded: some Sequence<UInt8>, plusIsSpace: Bool) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encoded.underestimatedCount)
        var iterator = encoded.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+") where plusIsSpace:
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(byte)
            }
        }
        return bytes
    }
}
