#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The claims of an access token (RFC 9068) that a resource server acts on, decoded in one
/// pass over the payload without building a dictionary of every claim.
///
/// ``JWTValidator/validateAccessToken(_:now:)`` returns this after the same checks as
/// ``JWTValidator/validate(_:now:)``; the accessors give each claim if it has the type the
/// claim requires, and ``value(of:)`` tells a missing claim from one of the wrong type.
public struct AccessTokenClaims: Sendable {
    /// The claims this type keeps. Any other claim is checked as JSON and skipped.
    public enum Name: Int, CaseIterable, Sendable {
        case issuer, subject, audience, expiresAt, notBefore, issuedAt, tokenID
        case sessionID, clientID, scope, username
        // Appended, not inserted: the raw values index the decoded values.
        case authenticationMethods, authenticationContext, authTime

        /// The claim's name in the token.
        public var claimName: String {
            switch self {
            case .issuer: "iss"
            case .subject: "sub"
            case .audience: "aud"
            case .expiresAt: "exp"
            case .notBefore: "nbf"
            case .issuedAt: "iat"
            case .tokenID: "jti"
            case .sessionID: "sid"
            case .clientID: "client_id"
            case .scope: "scope"
            case .username: "preferred_username"
            case .authenticationMethods: "amr"
            case .authenticationContext: "acr"
            case .authTime: "auth_time"
            }
        }

        /// The claim named by `bytes`, compared byte for byte.
        init?(bytes: UnsafeBufferPointer<UInt8>) {
            func equals(_ name: StaticString) -> Bool {
                guard name.utf8CodeUnitCount == bytes.count, let base = bytes.baseAddress else { return false }
                return memcmp(name.utf8Start, base, bytes.count) == 0
            }
            switch bytes.count {
            case 3:
                if equals("iss") { self = .issuer }
                else if equals("sub") { self = .subject }
                else if equals("aud") { self = .audience }
                else if equals("exp") { self = .expiresAt }
                else if equals("nbf") { self = .notBefore }
                else if equals("iat") { self = .issuedAt }
                else if equals("jti") { self = .tokenID }
                else if equals("sid") { self = .sessionID }
                else if equals("amr") { self = .authenticationMethods }
                else if equals("acr") { self = .authenticationContext }
                else { return nil }
            case 5:
                guard equals("scope") else { return nil }
                self = .scope
            case 9:
                if equals("client_id") { self = .clientID }
                else if equals("auth_time") { self = .authTime }
                else { return nil }
            case 18:
                guard equals("preferred_username") else { return nil }
                self = .username
            default:
                return nil
            }
        }
    }

    private var values: [JSONValue?]

    init(values: [JSONValue?]) {
        self.values = values
    }

    /// Decodes the claims from a payload's JSON; any other claim is checked and skipped.
    static func decode(_ json: UnsafeBufferPointer<UInt8>) throws(JWTError) -> AccessTokenClaims {
        var values = [JSONValue?](repeating: nil, count: Name.allCases.count)
        let isObject: Bool
        do throws(JSONError) {
            isObject = try JSONParser.parseObject(buffer: json, into: &values) { Name(bytes: $0)?.rawValue }
        } catch {
            throw .malformed(.json(.payload, error))
        }
        guard isObject else { throw .malformed(.notAnObject(.payload)) }
        return AccessTokenClaims(values: values)
    }

    /// The claim as it was in the token, or nil if the token did not carry it.
    public func value(of name: Name) -> JSONValue? { values[name.rawValue] }

    /// `iss`.
    public var issuer: String? { value(of: .issuer)?.stringValue }
    /// `sub`.
    public var subject: String? { value(of: .subject)?.stringValue }
    /// `aud`, as a list whether the token carried a string or an array.
    public var audience: [String] {
        switch value(of: .audience) {
        case .string(let single): [single]
        case .array(let many): many.compactMap(\.stringValue)
        default: []
        }
    }
    /// `exp`, in seconds since 1970.
    public var expiresAt: Double? { value(of: .expiresAt)?.numericValue }
    /// `nbf`, in seconds since 1970.
    public var notBefore: Double? { value(of: .notBefore)?.numericValue }
    /// `iat`, in seconds since 1970.
    public var issuedAt: Double? { value(of: .issuedAt)?.numericValue }
    /// `jti`.
    public var tokenID: String? { value(of: .tokenID)?.stringValue }
    /// `sid`: the session the token belongs to (OpenID Connect).
    public var sessionID: String? { value(of: .sessionID)?.stringValue }
    /// `client_id` (RFC 9068 section 2.2).
    public var clientID: String? { value(of: .clientID)?.stringValue }
    /// `scope`, space-separated (RFC 9068 section 2.2.3).
    public var scope: String? { value(of: .scope)?.stringValue }
    /// `preferred_username` (OpenID Connect).
    public var username: String? { value(of: .username)?.stringValue }
    /// `amr` (RFC 8176): how the user authenticated, e.g. `["pwd", "otp", "mfa"]`; empty when
    /// the token carries none, or not an array of strings (the strings among it otherwise).
    public var authenticationMethods: [String] { value(of: .authenticationMethods)?.arrayValue?.compactMap(\.stringValue) ?? [] }
    /// `acr`: the authentication context class the user's sign-in satisfied (`pwd`, `mfa`).
    public var authenticationContext: String? { value(of: .authenticationContext)?.stringValue }
    /// `auth_time`: when the user last authenticated at the hub, in seconds since 1970.
    public var authTime: Double? { value(of: .authTime)?.numericValue }
}

/// The registered claims a ``JWTValidator`` checks, from whichever decoding of the payload.
/// One set of checks serves both, so the full and the lean road cannot drift apart.
protocol RegisteredClaimValues {
    subscript(registered name: AccessTokenClaims.Name) -> JSONValue? { get }
}

extension AccessTokenClaims: RegisteredClaimValues {
    subscript(registered name: Name) -> JSONValue? { value(of: name) }
}

extension JWTClaims: RegisteredClaimValues {
    subscript(registered name: AccessTokenClaims.Name) -> JSONValue? { members[name.claimName] }
}
