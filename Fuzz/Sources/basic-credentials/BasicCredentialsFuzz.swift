import FuzzSupport
import HallpassCrypto
@testable import HeaderShim

/// The hub's `Authorization: Basic` parser (BasicCredentials, run on every token request of a
/// confidential client) on any header value. It must not crash; what it accepts is a Basic
/// header (the scheme in any case, then a space) whose id and secret, form-encoded again,
/// joined by `:` and base64-encoded, parse back to the same pair; and the padded base64 it
/// accepts is canonical.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBasicCredentials(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withInput(data, size) { input in
        let shown = String(decoding: input.prefix(200), as: UTF8.self)
        checkPaddedBase64(input, shown)
        guard let credentials = parse(input) else { return }
        require(
            input.count > 6 && String(decoding: input.prefix(6), as: UTF8.self).lowercased() == "basic ",
            "accepted a value that does not start with the Basic scheme: \(shown)")
        let joined = PercentEncoding.encode(credentials.id) + ":" + PercentEncoding.encode(credentials.secret)
        let written = Array(("Basic " + paddedBase64(Array(joined.utf8))).utf8)
        let again = written.withUnsafeBufferPointer { parse($0) }
        require(again == credentials, "re-encoded credentials read differently: \(joined) (from \(shown))")
    }
    return 0
}

/// The parse, with a refusal folded into `nil` after checking that it is only for a Basic header.
private func parse(_ input: UnsafeBufferPointer<UInt8>) -> BasicCredentials? {
    do {
        return try BasicCredentials.parse(input)
    } catch {
        let scheme = String(decoding: input.prefix(6), as: UTF8.self).lowercased()
        require(scheme == "basic " || scheme == "basic", "refused as malformed Basic, but not Basic at all")
        return nil
    }
}

/// What PaddedBase64 accepts must be what standard padded base64 writes for the bytes.
private func checkPaddedBase64(_ input: UnsafeBufferPointer<UInt8>, _ shown: String) {
    guard let decoded = PaddedBase64.decode(input) else { return }
    require(paddedBase64(decoded) == String(decoding: input, as: UTF8.self), "PaddedBase64 accepted a non-canonical form: \(shown)")
}

private func paddedBase64(_ bytes: [UInt8]) -> String {
    let unpadded = UnpaddedBase64.standard.encode(bytes)
    return unpadded + String(repeating: "=", count: (4 - unpadded.utf8.count % 4) % 4)
}
