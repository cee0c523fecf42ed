import FuzzSupport
import HallpassCrypto

/// Base32 (lowercase, unpadded, canonical) on any bytes: whatever decodes re-encodes to the
/// input, and any bytes encode to text that decodes back to them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBase32(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withInput(data, size) { input in
        let shown = String(decoding: input.prefix(200), as: UTF8.self)
        if let bytes = Base32.decode(input) {
            require(Base32.encode(bytes) == String(decoding: input, as: UTF8.self), "decode is not canonical: \(shown)")
            require(Base32.decode(String(decoding: input, as: UTF8.self)) == bytes, "String and buffer decoding differ: \(shown)")
        }
        // The other direction: the input as bytes to encode.
        let encoded = Base32.encode(input)
        require(Base32.decode(encoded) == Array(input), "encode then decode loses bytes: \(encoded)")
        require(encoded.utf8.count == (input.count * 8 + 4) / 5, "encoded length is not ⌈8n/5⌉: \(encoded)")
    }
    return 0
}
