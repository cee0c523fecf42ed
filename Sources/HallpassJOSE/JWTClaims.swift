/// The verified claims of a token, with typed access to the registered ones (RFC 7519 section 4.1).
///
/// The validator has checked the types of every registered claim it returns here, so the
/// accessors never meet a claim of the wrong type.
public struct JWTClaims: Sendable, Hashable {
    /// Every claim, as parsed.
    public let members: [String: JSONValue]

    /// Claims from a JSON object's members.
    public init(_ members: [String: JSONValue]) {
        self.members = members
    }

    /// Any claim by name.
    public subscript(name: String) -> JSONValue? { members[name] }

    /// `iss`.
    public var issuer: String? { members["iss"]?.stringValue }
    /// `sub`.
    public var subject: String? { members["sub"]?.stringValue }
    /// `aud`, as a list whether the token carried a string or an array.
    public var audience: [String] {
        switch members["aud"] {
        case .string(let single): [single]
        case .array(let many): many.compactMap(\.stringValue)
        default: []
        }
    }
    /// `exp`, in seconds since 1970.
    public var expiresAt: Double? { members["exp"]?.numericValue }
    /// `nbf`, in seconds since 1970.
    public var notBefore: Double? { members["nbf"]?.numericValue }
    /// `iat`, in seconds since 1970.
    public var issuedAt: Double? { members["iat"]?.numericValue }
    /// `jti`.
    public var tokenID: String? { members["jti"]?.stringValue }
    /// `preferred_username` (OpenID Connect), as ``AccessTokenClaims/username`` reads it.
    public var username: String? { members["preferred_username"]?.stringValue }
    /// `amr` (RFC 8176), as ``AccessTokenClaims/authenticationMethods`` reads it.
    public var authenticationMethods: [String] { members["amr"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    /// `acr`, as ``AccessTokenClaims/authenticationContext`` reads it.
    public var authenticationContext: String? { members["acr"]?.stringValue }
    /// `auth_time` in seconds since 1970, as ``AccessTokenClaims/authTime`` reads it.
    public var authTime: Double? { members["auth_time"]?.numericValue }
}

/// A token that passed every check: its header and claims.
public struct VerifiedJWT: Sendable, Hashable {
    /// The protected header.
    public let header: [String: JSONValue]
    /// The claims.
    public let claims: JWTClaims
    /// The algorithm of the key that verified it.
    public let algorithm: JWSAlgorithm
    /// The `kid` of the key that verified it.
    public let keyID: String?
}
