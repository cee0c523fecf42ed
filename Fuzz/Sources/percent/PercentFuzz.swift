import FuzzSupport
import HallpassCrypto

/// Percent-decoding (form bodies with `+` as space, URLs without) on any bytes. Decoding is not
/// canonical (`%41` and `A` are the same byte), so the check is one way: a successful decode
/// that is UTF-8 re-encodes to text of unreserved characters and `%XX` only, which decodes
/// (either way) back to the same bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPercent(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withInput(data, size) { input in
        let shown = String(decoding: input.prefix(200), as: UTF8.self)
        for plusIsSpace in [false, true] {
            let decoded = PercentEncoding.decode(input, plusIsSpace: plusIsSpace)
            require(PercentEncoding.decode(Array(input), plusIsSpace: plusIsSpace) == decoded,
                    "generic and buffer decoding differ: \(shown)")
            guard let decoded else { continue }
            require(decoded.count <= input.count, "decoding grew the input: \(shown)")
            guard let text = String(validating: decoded, as: UTF8.self) else { continue }
            let encoded = PercentEncoding.encode(text)
            let unreservedOrPercent = encoded.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                     UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                     UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"): true
                default: false
                }
            }
            require(unreservedOrPercent, "encode wrote a reserved byte: \(encoded)")
            for again in [false, true] {
                require(PercentEncoding.decode(Array(encoded.utf8), plusIsSpace: again) == decoded,
                        "encode then decode (plusIsSpace \(again)) changed the bytes of \(shown)")
            }
        }
    }
    return 0
}
