import HallpassCrypto

// The byte parser of `Authorization: Basic`, apart from ClientAuthenticator (which needs the store
// and HTTPTypes) so that the `basic-credentials` fuzz target compiles this file alone.

/// The client id and secret of an `Authorization: Basic` header value (RFC 7617), each
/// form-urlencoded before base64 as RFC 6749 section 2.3.1 demands.
struct BasicCredentials: Sendable, Equatable {
    let id: String
    let secret: String

    /// A header that names the Basic scheme but does not carry well-formed credentials.
    struct Malformed: Error, Equatable {}

    /// The credentials of `value`; `nil` when it is not a Basic header at all.
    ///
    /// - Throws: ``Malformed`` for an attempt at Basic that fails (RFC 6749 section 5.2
    ///   answers it with 401 and a Basic challenge): no credentials, base64 that is not
    ///   canonical padded base64, no colon, or a half that is not form-urlencoded UTF-8.
    static func parse(_ value: UnsafeBufferPointer<UInt8>) throws(Malformed) -> BasicCredentials? {
        // The scheme is case-insensitive (RFC 9110 section 11.1). A bare `Basic` with no
        // credentials is still an attempt at Basic, which RFC 6749 section 5.2 answers with
        // 401 and a Basic challenge, like any other malformed one.
        let schemeEnd = value.firstIndex(of: UInt8(ascii: " ")) ?? value.count
        guard schemeEnd == 5, UnsafeBufferPointer(rebasing: value[..<5]).equalsIgnoringASCIICase("basic") else { return nil }
        let encoded = UnsafeBufferPointer(rebasing: value[schemeEnd...]).trimmingSpaces
        guard !encoded.isEmpty, let decoded = PaddedBase64.decode(encoded),
            let colon = decoded.firstIndex(of: UInt8(ascii: ":")),
            let id = Self.formDecoded(decoded[..<colon]),
            let secret = Self.formDecoded(decoded[(colon + 1)...])
        else { throw Malformed() }
        return BasicCredentials(id: id, secret: secret)
    }

    /// One form-urlencoded, UTF-8 half of a Basic credential.
    private static func formDecoded(_ bytes: ArraySlice<UInt8>) -> String? {
        bytes.withUnsafeBufferPointer { buffer in
            PercentEncoding.decode(buffer, plusIsSpace: true).flatMap { String(validating: $0, as: UTF8.self) }
        }
    }
}

/// Standard base64 with padding, as HTTP Basic uses it.
enum PaddedBase64 {
    /// The decoded bytes, or `nil` unless `text` is canonical padded base64.
    static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var end = text.count
        while end > 0, text.count - end < 2, text[end - 1] == UInt8(ascii: "=") { end -= 1 }
        return try? UnpaddedBase64.standard.decode(UnsafeBufferPointer(rebasing: text[..<end]))
    }
}
