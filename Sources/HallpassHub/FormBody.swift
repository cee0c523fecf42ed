import HallpassCrypto

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
        guard let bytes = PercentEncoding.decode(encoded, plusIsSpace: true) else { throw .malformedEncoding }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
        return text
    }
}
