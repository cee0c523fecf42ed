public import HallpassCrypto

/// Base64url without padding, as JOSE uses it (RFC 7515 section 2), strict: no padding, no
/// whitespace, nothing outside the alphabet and no non-canonical trailing bits.
///
/// The codec itself is ``HallpassCrypto/UnpaddedBase64/url``; this is its JOSE-facing name.
public enum Base64URL {
    /// Why a string is not canonical base64url.
    public typealias DecodingError = UnpaddedBase64.DecodingError

    /// The base64url encoding of `bytes`, without padding.
    @inlinable
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        UnpaddedBase64.url.encode(bytes)
    }

    /// Decodes canonical base64url text.
    @inlinable
    public static func decode(_ text: some StringProtocol) throws(DecodingError) -> [UInt8] {
        try UnpaddedBase64.url.decode(text)
    }

    /// Decodes canonical base64url from raw bytes.
    @inlinable
    public static func decode(_ input: UnsafeBufferPointer<UInt8>) throws(DecodingError) -> [UInt8] {
        try UnpaddedBase64.url.decode(input)
    }

    /// The number of bytes `encodedCount` characters of canonical base64url decode to.
    @inlinable
    public static func decodedCount(_ encodedCount: Int) throws(DecodingError) -> Int {
        try UnpaddedBase64.url.decodedCount(encodedCount)
    }

    /// Decodes canonical base64url into `output` (at least ``decodedCount(_:)`` bytes) and
    /// returns the number of bytes written.
    @inlinable
    public static func decode(_ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>) throws(DecodingError) -> Int {
        try UnpaddedBase64.url.decode(input, into: output)
    }
}
