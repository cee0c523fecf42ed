/// Why a token was refused. Each case names one rule; none carries the token or key material.
public enum JWTError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The token is longer than the validator's limit (8 KiB by default).
    case tooLarge(limit: Int)
    /// The token is not a well-formed JWS compact serialization with JSON header and claims.
    case malformed(MalformedReason)
    /// The header names `none`, an HMAC algorithm, or any algorithm this library does not accept.
    case disallowedAlgorithm(String)
    /// The header has `crit`: no extension is understood, so the token must be refused (RFC 7515 section 4.1.11).
    case unsupportedCriticalHeader
    /// The header's `typ` is missing or not the required one (RFC 8725 section 3.11).
    case wrongType(found: String?)
    /// No trusted key has the header's `kid`.
    case unknownKey(keyID: String?)
    /// The header's `alg` is not the algorithm of the key it names: the key decides.
    case algorithmMismatch(header: String, key: String)
    /// The signature does not verify with the key.
    case badSignature
    /// `exp` has passed (beyond the leeway).
    case expired
    /// `nbf` has not yet come (beyond the leeway).
    case notYetValid
    /// `iat` lies in the future (beyond the leeway).
    case issuedInFuture
    /// `iss` is missing or not exactly the expected issuer.
    case wrongIssuer
    /// `aud` is missing or does not contain the expected audience.
    case wrongAudience

    /// Which part of a token a malformation is in.
    public enum Segment: String, Sendable, Equatable {
        case header, payload, signature
    }

    /// What exactly is malformed.
    public enum MalformedReason: Error, Equatable, Sendable {
        /// Not three dot-separated segments (the count found).
        case segmentCount(Int)
        /// A segment that is not canonical base64url.
        case base64url(Segment)
        /// A segment that is not strict JSON, including duplicate member names.
        case json(Segment, JSONError)
        /// A header or payload that is JSON but not an object.
        case notAnObject(Segment)
        /// A header parameter or claim of the wrong type (`alg` not a string, `exp` not a number, ...).
        case invalidMember(String)
        /// A claim the validator requires is absent (for example `exp`).
        case missingClaim(String)
    }

    public var description: String {
        switch self {
        case .tooLarge(let limit): "token exceeds \(limit) bytes"
        case .malformed(let reason):
            switch reason {
            case .segmentCount(let count): "malformed token: \(count) segments instead of 3"
            case .base64url(let segment): "malformed token: \(segment.rawValue) is not base64url"
            case .json(let segment, .duplicateMember(let name)): "malformed token: \(segment.rawValue) repeats member \(name)"
            case .json(let segment, _): "malformed token: \(segment.rawValue) is not valid JSON"
            case .notAnObject(let segment): "malformed token: \(segment.rawValue) is not a JSON object"
            case .invalidMember(let name): "malformed token: \(name) has the wrong type"
            case .missingClaim(let name): "malformed token: claim \(name) is missing"
            }
        case .disallowedAlgorithm(let alg): "algorithm \(alg) is not accepted"
        case .unsupportedCriticalHeader: "token has critical header extensions"
        case .wrongType(let found): "token type \(found ?? "(none)") is not accepted"
        case .unknownKey(let kid): "no trusted key \(kid ?? "(no kid)")"
        case .algorithmMismatch(let header, let key): "header algorithm \(header) does not match the key's \(key)"
        case .badSignature: "signature does not verify"
        case .expired: "token has expired"
        case .notYetValid: "token is not yet valid"
        case .issuedInFuture: "token is issued in the future"
        case .wrongIssuer: "token issuer is not the expected one"
        case .wrongAudience: "token audience does not include this service"
        }
    }
}
