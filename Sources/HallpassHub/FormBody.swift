/// A strict `application/x-www-form-urlencoded` body (RFC 6749 section 3.2 and appendix B).
///
/// RFC 6749 section 3.1: "Request and response parameters MUST NOT be included more than
/// once", so a repeated name is an error rather than first-wins or last-wins, which would let
/// two parties read the same request differently. Values must be UTF-8 after decoding.
struct FormBody: Sendable {
    private(set) var values: [String: String] = [:]

    enum Failure: Error, Equatable {
        case repeated(String)
        case malformedEncoding
        case notUTF8
    }

    init(parsing bytes: some Collection<UInt8>) throws(Failure) {
        for pair in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = try Self.decode(parts[0])
            let value = parts.count > 1 ? try Self.decode(parts[1]) : ""
            guard values[name] == nil else { throw .repeated(name) }
            values[name] = value
        }
    }

    subscript(name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    private static func decode(_ encoded: some Collection<UInt8>) throws(Failure) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encoded.count)
        var index = encoded.startIndex
        while index != encoded.endIndex {
            let byte = encoded[index]
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                let high = encoded.index(after: index)
                guard high != encoded.endIndex else { throw .malformedEncoding }
                let low = encoded.index(after: high)
                guard low != encoded.endIndex, let h = hexValue(encoded[high]), let l = hexValue(encoded[low]) else {
                    throw .malformedEncoding
                }
                bytes.append(h << 4 | l)
                index = low
            default:
                bytes.append(byte)
            }
            index = encoded.index(after: index)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
        return text
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
