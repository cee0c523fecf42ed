/// Why a token was refused. Every case names one rule; none carries token or key material, so
/// a description is safe to log and to send back in `WWW-Authenticate`.
public enum ValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No token was presented (the middleware's case; the validator calls an empty string
    /// ``malformed(_:)``).
    case missingToken
    /// Not a well-formed JWS compact token with JSON header and claims (segments, base64url,
    /// JSON, duplicate names, a claim of the wrong type, a required claim missing); the
    /// associated text says which.
    case malformed(String)
    /// Longer than the validator's limit (8 KiB by default), refused before any parsing.
    case tooLarge
    /// The header names `none`, an HMAC algorithm, another unsupported one, or an algorithm
    /// other than the one its key allows.
    case disallowedAlgorithm
    /// No key the validator holds has the header's `kid` (a key reload is requested).
    case unknownKey
    /// The signature does not verify.
    case badSignature
    /// `typ` is missing or not `at+jwt`.
    case wrongType
    /// `iss` is not the configured issuer.
    case wrongIssuer
    /// `aud` does not contain the configured audience.
    case wrongAudience
    /// `exp` has passed (beyond the leeway).
    case expired
    /// `nbf` or `iat` lies in the future (beyond the leeway).
    case notYetValid
    /// The hub or an operator revoked the token; the reason says what was revoked.
    case revoked(RevocationReason)
    /// The revocation mirror cannot prove it is current (Redis unreachable for longer than the
    /// staleness bound, or not loaded yet) and the validator fails closed.
    case stale

    /// The description, for logs and `error_description`.
    public var description: String {
        switch self {
        case .missingToken: "no bearer token"
        case .malformed(let reason): "malformed token: \(reason)"
        case .tooLarge: "token is too large"
        case .disallowedAlgorithm: "token algorithm is not accepted"
        case .unknownKey: "token is signed with an unknown key"
        case .badSignature: "token signature does not verify"
        case .wrongType: "token type is not at+jwt"
        case .wrongIssuer: "token issuer is not accepted"
        case .wrongAudience: "token audience does not include this service"
        case .expired: "token has expired"
        case .notYetValid: "token is not yet valid"
        case .revoked(let reason): "token is revoked (\(reason.rawValue))"
        case .stale: "revocation state is not current"
        }
    }
}

/// What revoked a token.
public enum RevocationReason: String, Sendable, Hashable {
    /// The token's own `jti` was revoked.
    case token
    /// Its session ended (logout, single-login eviction, refresh-token reuse, an operator).
    case session
    /// Its client's grant in the session was revoked after it was issued.
    case grant
    /// Its user's tokens issued until some moment were revoked (user disabled, forced logout).
    case user
    /// Its client was removed after it was issued (`hallpass clients remove`): every token
    /// issued to that client until then is void, the client's own and its users' alike.
    case client
}
