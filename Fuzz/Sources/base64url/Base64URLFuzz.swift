import FuzzSupport
import HallpassCrypto
import HallpassJOSE

/// Unpadded base64 (the url alphabet JOSE uses, and the standard one of PHC strings) on any
/// bytes. Both decoders are canonical, so whatever decodes must re-encode to the input, and the
/// three ways in (array, into a caller's buffer, and from a String) must agree.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBase64URL(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withInput(data, size) { input in
        check(UnpaddedBase64.url, input, "url")
        check(UnpaddedBase64.standard, input, "standard")
        // Base64URL is the JOSE-facing name of the url codec: the same answers.
        let viaJOSE = try? Base64URL.decode(input)
        require(viaJOSE == (try? UnpaddedBase64.url.decode(input)), "Base64URL and UnpaddedBase64.url differ")
    }
    return 0
}

private func check(_ codec: UnpaddedBase64, _ input: UnsafeBufferPointer<UInt8>, _ name: String) {
    let shown = String(decoding: input.prefix(200), as: UTF8.self)
    let decoded = Result { () throws(UnpaddedBase64.DecodingError) in try codec.decode(input) }
    // decode(into:) is what the validator uses on every token, in a buffer sized by decodedCount.
    let intoBuffer: [UInt8]? = {
        guard let capacity = try? codec.decodedCount(input.count) else { return nil }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(capacity, 1)) { buffer in
            guard let count = try? codec.decode(input, into: buffer) else { return nil }
            require(count <= capacity, "\(name): decode(into:) wrote \(count) bytes, decodedCount said \(capacity)")
            return Array(buffer[0..<count])
        }
    }()
    switch decoded {
    case .success(let bytes):
        require(intoBuffer == bytes, "\(name): decode and decode(into:) differ for \(shown)")
        let encoded = codec.encode(bytes)
        require(Array(encoded.utf8) == Array(input), "\(name): canonical decode re-encodes differently: \(shown) -> \(encoded)")
        let text = String(decoding: input, as: UTF8.self)
        require((try? codec.decode(text)) == bytes, "\(name): String and buffer decoding differ for \(shown)")
    case .failure:
        require(intoBuffer == nil, "\(name): decode(into:) accepts what decode refuses: \(shown)")
    }
}
