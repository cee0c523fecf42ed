public import HTTPTypes

/// An error answered as RFC 6749 JSON: `{"error": ..., "error_description": ...}`.
///
/// Descriptions are fixed sentences written here; no token, key, secret or stack ever goes
/// into one.
public struct OAuthError: Error, Sendable, Hashable {
    /// The RFC 6749 (or RFC 6750, or Hallpass) error code.
    public var code: String
    /// A human-readable sentence.
    public var description: String
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// Extra response headers (`WWW-Authenticate`, `Retry-After`).
    public var headers: HTTPFields

    /// An error answer.
    public init(_ code: String, _ description: String, status: HTTPResponse.Status = .badRequest, headers: HTTPFields = [:]) {
        self.code = code
        self.description = description
        self.status = status
        self.headers = headers
    }

    static func invalidRequest(_ description: String) -> OAuthError { OAuthError("invalid_request", description) }
    static func invalidGrant(_ description: String) -> OAuthError { OAuthError("invalid_grant", description) }
    static func invalidScope(_ description: String) -> OAuthError { OAuthError("invalid_scope", description) }
    static func unauthorizedClient(_ description: String) -> OAuthError { OAuthError("unauthorized_client", description) }
    static func unsupportedGrantType(_ description: String) -> OAuthError { OAuthError("unsupported_grant_type", description) }

    /// RFC 6749 section 5.2: a client that tried HTTP Basic gets 401 and a challenge.
    static func invalidClient(basic: Bool) -> OAuthError {
        var headers = HTTPFields()
        if basic { headers[.wwwAuthenticate] = "Basic realm=\"hallpass\"" }
        return OAuthError("invalid_client", "client authentication failed", status: .unauthorized, headers: headers)
    }

    /// RFC 6750 section 3.1: a bearer token that is missing, expired, revoked or malformed.
    static func invalidToken(_ description: String) -> OAuthError {
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = "Bearer realm=\"hallpass\", error=\"invalid_token\", error_description=\"\(description)\""
        return OAuthError("invalid_token", description, status: .unauthorized, headers: headers)
    }

    static let storeUnavailable = OAuthError(
        "temporarily_unavailable", "the session store is unavailable; retry shortly", status: .serviceUnavailable,
        headers: [.retryAfter: "1"])

    static let signingUnavailable = OAuthError(
        "temporarily_unavailable", "no signing key is available yet; retry shortly", status: .serviceUnavailable,
        headers: [.retryAfter: "1"])

    static func throttled(retryAfterSeconds: Int64) -> OAuthError {
        OAuthError(
            "too_many_attempts", "too many failed login attempts; retry after \(retryAfterSeconds) seconds",
            status: .tooManyRequests, headers: [.retryAfter: String(retryAfterSeconds)])
    }
}
