import FuzzSupport
import HallpassJOSE
import LogoutShim

/// LogoutTokenVerifier on arbitrary tokens. The first byte chooses the variant: 0 the bytes are
/// the token (unsigned, or signed by anyone); 1 a payload signed under a `logout+jwt` header;
/// 2 header and payload split at the first newline, signed as written; 3 a payload signed with
/// no `typ`. It must not crash, and whatever it accepts must satisfy the rules it documents.
private let verifier = LogoutTokenVerifier(issuer: FuzzKeys.issuer, audience: FuzzKeys.audience)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLogoutToken(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withInput(data, size) { input in
        guard let selector = input.first else { return }
        let rest = Array(input.dropFirst())
        let token: [UInt8]
        switch selector & 3 {
        case 0: token = rest
        case 1: token = FuzzKeys.sign(payload: rest, type: "logout+jwt")
        case 2:
            let newline = rest.firstIndex(of: UInt8(ascii: "\n")) ?? rest.endIndex
            token = FuzzKeys.sign(header: Array(rest[..<newline]), payload: Array(rest[newline...].dropFirst()))
        default: token = FuzzKeys.sign(payload: rest, type: nil)
        }
        let text = String(decoding: token, as: UTF8.self)
        guard let logout = try? verifier.verify(text, keys: FuzzKeys.keys, now: FuzzKeys.now) else { return }
        require(logout.sessionID != nil || logout.subject != nil, "accepted a logout token with neither sid nor sub: \(text)")
        require(logout.sessionID?.isEmpty != true && logout.subject?.isEmpty != true, "accepted an empty sid or sub: \(text)")
        require(logout.issuedAt.isFinite && logout.issuedAt >= FuzzKeys.now - verifier.maximumAge - verifier.leeway,
                "accepted a stale or non-finite iat: \(text)")
        // Only tokens the fuzz key signed can pass: the token must still verify with the full validator.
        var rules = JWTValidator.Configuration(issuer: FuzzKeys.issuer, audience: FuzzKeys.audience, requiredType: nil, requiresExpiration: false)
        rules.checksAudience = true
        let verified = try? JWTValidator(configuration: rules, keys: FuzzKeys.keys).validate(text, now: FuzzKeys.now)
        require(verified != nil, "logout verifier accepted what the JWT validator refuses: \(text)")
        require(verified?.claims["nonce"] == nil, "accepted a token with a nonce: \(text)")
    }
    return 0
}
