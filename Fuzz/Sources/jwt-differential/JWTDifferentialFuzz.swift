import FuzzSupport
import HallpassCrypto
import HallpassJOSE

/// JWTValidator's two decoding roads, `validate` (every claim, in a dictionary) and
/// `validateAccessToken` (the registered claims only, in one pass), must agree on every
/// input: both accept with the same claims, or both refuse with the same error.
///
/// The first byte chooses how the rest becomes a token (low two bits) and which rules apply
/// (bit 2), so the fuzzer reaches past the signature check instead of stopping at it:
/// 0 the bytes are the token; 1 they are a payload signed under the usual `at+jwt` header;
/// 2 up to the first newline they are a header, after it a payload, signed as written;
/// 3 a payload signed with no `typ`.
private let strict = JWTValidator(
    configuration: .init(issuer: FuzzKeys.issuer, audience: FuzzKeys.audience), keys: FuzzKeys.keys)
private let lenient: JWTValidator = {
    var rules = JWTValidator.Configuration(
        issuer: FuzzKeys.issuer, audience: FuzzKeys.audience, requiredType: nil, requiresExpiration: false)
    rules.checksAudience = false
    return JWTValidator(configuration: rules, keys: FuzzKeys.keys)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJWTDifferential(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withInput(data, size) { input in
        guard let selector = input.first else { return }
        let rest = Array(input.dropFirst())
        let token: [UInt8]
        switch selector & 3 {
        case 0: token = rest
        case 1: token = FuzzKeys.sign(payload: rest, type: "at+jwt")
        case 2:
            let newline = rest.firstIndex(of: UInt8(ascii: "\n")) ?? rest.endIndex
            token = FuzzKeys.sign(header: Array(rest[..<newline]), payload: Array(rest[newline...].dropFirst()))
        default: token = FuzzKeys.sign(payload: rest, type: nil)
        }
        compareRoads(token, validator: selector & 4 == 0 ? strict : lenient)
    }
    return 0
}

private func compareRoads(_ token: [UInt8], validator: JWTValidator) {
    let now = FuzzKeys.now
    let full = token.withUnsafeBufferPointer { bytes in
        Result { () throws(JWTError) in try validator.validate(bytes: bytes, now: now) }
    }
    let lean = token.withUnsafeBufferPointer { bytes in
        Result { () throws(JWTError) in try validator.validateAccessToken(bytes: bytes, now: now) }
    }
    let shown = String(decoding: token.prefix(400), as: UTF8.self)
    switch (full, lean) {
    case (.success(let verified), .success(let claims)):
        for name in AccessTokenClaims.Name.allCases {
            let a = verified.claims[name.claimName]
            let b = claims.value(of: name)
            require(a == b, "roads disagree on \(name.claimName): validate \(String(describing: a)), validateAccessToken \(String(describing: b)) for \(shown)")
        }
        // The typed accessors are what callers read; they must agree too.
        require(verified.claims.subject == claims.subject && verified.claims.audience == claims.audience
                && verified.claims.expiresAt == claims.expiresAt && verified.claims.issuedAt == claims.issuedAt
                && verified.claims.tokenID == claims.tokenID && verified.claims.username == claims.username
                && verified.claims.authenticationMethods == claims.authenticationMethods
                && verified.claims.authenticationContext == claims.authenticationContext
                && verified.claims.authTime == claims.authTime,
                "typed accessors disagree for \(shown)")
    case (.failure(let a), .failure(let b)):
        require(a == b, "roads refuse with different errors: validate \(a), validateAccessToken \(b) for \(shown)")
    case (.success, .failure(let error)):
        fuzzFailure("validate accepts, validateAccessToken refuses (\(error)) for \(shown)")
    case (.failure(let error), .success):
        fuzzFailure("validateAccessToken accepts, validate refuses (\(error)) for \(shown)")
    }
}
