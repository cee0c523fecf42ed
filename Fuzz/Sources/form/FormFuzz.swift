@testable import FormShim
import FuzzSupport
import HallpassCrypto

/// The hub's `application/x-www-form-urlencoded` parser (FormBody, run on every token,
/// introspection and sign-in request) on any bytes. It must not crash; a body it accepts,
/// written again pair by pair with every reserved byte percent-encoded, parses to the same
/// names and values (and the generic entry agrees with the buffer one).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzForm(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withInput(data, size) { input in
        let shown = String(decoding: input.prefix(200), as: UTF8.self)
        let parsed = Result { () throws(FormBody.Failure) in try FormBody(parsing: input) }
        let generic = Result { () throws(FormBody.Failure) in try FormBody(parsing: Array(input)) }
        switch (parsed, generic) {
        case (.success(let a), .success(let b)):
            require(a.values == b.values, "generic and buffer parsing differ: \(shown)")
        case (.failure(let a), .failure(let b)):
            require(a == b, "generic and buffer parsing refuse differently: \(shown)")
        default:
            fuzzFailure("generic and buffer parsing disagree: \(shown)")
        }
        guard case .success(let form) = parsed else { return }
        let written = form.values
            .map { PercentEncoding.encode($0.key) + "=" + PercentEncoding.encode($0.value) }
            .joined(separator: "&")
        let again = Result { () throws(FormBody.Failure) in try FormBody(parsing: Array(written.utf8)) }
        guard case .success(let reread) = again else {
            fuzzFailure("re-encoded form does not parse: \(written) (from \(shown))")
        }
        require(reread.values == form.values, "re-encoded form reads differently: \(written) (from \(shown))")
        for (name, value) in form.values {
            require(form[name] == (value.isEmpty ? nil : value), "subscript disagrees with values for \(name)")
        }
    }
    return 0
}
