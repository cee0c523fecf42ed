/// Hex digits and percent-encoding, written once for the formats that need them: key files
/// (hex), `redis://` URLs (RFC 3986), form bodies (`application/x-www-form-urlencoded`) and
/// `otpauth://` provisioning URIs.
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
        let contiguous = encoded.withContiguousStorageIfAvailable { decode($0, plusIsSpace: plusIsSpace) }
        if let contiguous { return contiguous }
        return Array(encoded).withUnsafeBufferPointer { decode($0, plusIsSpace: plusIsSpace) }
    }

    /// The bytes `encoded` stands for, or `nil` if a `%` is not followed by two hex digits.
    ///
    /// The concrete form the generic one funnels into: form bodies are decoded on every token
    /// request, and a generic loop over an unspecialized collection costs a witness call a byte.
    public static func decode(_ encoded: UnsafeBufferPointer<UInt8>, plusIsSpace: Bool) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encoded.count)
        var index = 0
        while index < encoded.count {
            let byte = encoded[index]
            switch byte {
            case UInt8(ascii: "%"):
                guard index + 2 < encoded.count, let high = hexValue(encoded[index + 1]), let low = hexValue(encoded[index + 2])
                else { return nil }
                bytes.append(high << 4 | low)
                index += 3
                continue
            case UInt8(ascii: "+") where plusIsSpace:
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(byte)
            }
            index += 1
        }
        return bytes
    }

    /// `text` with every UTF-8 byte outside RFC 3986's unreserved set (`A-Z a-z 0-9 - . _ ~`)
    /// written as `%XX` (uppercase hex, as RFC 3986 §2.1 recommends).
    ///
    /// Encoding everything else, including `:`, `/`, `@`, `&`, `=` and `+`, makes the result
    /// safe in any URI component (path segment, query name or value) and means no decoder can
    /// read a `+` as a space.
    public static func encode(_ text: some StringProtocol) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
