public import HallpassJOSE

/// Verifies OIDC Back-Channel Logout 1.0 logout tokens (section 2.6 of the specification) that
/// the hub POSTs to a member app's back-channel logout endpoint.
///
/// ```swift
/// let verifier = LogoutTokenVerifier(issuer: "http://127.0.0.1:8400", audience: "notes")
/// let logout = try verifier.verify(form["logout_token"], keys: keysFromTheHubJWKS)
/// // end every local session of logout.sessionID (or of logout.subject when sid is absent)
/// ```
///
/// The checks, in order: size and JWS shape, the header's `alg` against the key its `kid`
/// names (never `none` or HMAC), `typ` (when present it must be `logout+jwt`), the
/// signature, `iss`, `aud` containing this client, `iat` (present, not in the future, not older
/// than ``maximumAge``), `exp` when present, `events` holding the back-channel logout event
/// as a JSON object, `sid` or `sub` present, and no `nonce` (which would make an ID token pass
/// as a logout token). Replay protection by `jti` is the caller's: ``LogoutToken/tokenID``.
public struct LogoutTokenVerifier: Sendable {
    /// The `events` member every logout token carries.
    public static let logoutEvent = "http://schemas.openid.net/event/backchannel-logout"

    /// What a verified logout token says.
    public struct LogoutToken: Sendable, Hashable {
        /// `sid`: the session that ended, when the token names one.
        public let sessionID: String?
        /// `sub`: the user whose sessions ended, when the token names one.
        public let subject: String?
        /// `jti`, for replay detection, when present.
        public let tokenID: String?
        /// `iat` (Unix s).
        public let issuedAt: Double
    }

    /// Why a logout token was refused. No case carries token or key material.
    public enum LogoutTokenError: Error, Sendable, Hashable, CustomStringConvertible {
        /// The signature, algorithm, key, issuer, audience or a time check failed; the text says which.
        case invalidToken(String)
        /// `typ` is present and not `logout+jwt`.
        case wrongType
        /// `events` lacks the back-channel logout event (or it is not a JSON object).
        case missingEvent
        /// Neither `sid` nor `sub` is present.
        case missingSubjectAndSession
        /// The token carries `nonce`: an ID token, not a logout token.
        case nonceNotAllowed
        /// `iat` is missing, or older than ``LogoutTokenVerifier/maximumAge``.
        case badIssuedAt

        /// A description for logs and error bodies.
        public var description: String {
            switch self {
            case .invalidToken(let reason): "invalid logout token: \(reason)"
            case .wrongType: "logout token typ is not logout+jwt"
            case .missingEvent: "logout token lacks the back-channel logout event"
            case .missingSubjectAndSession: "logout token has neither sid nor sub"
            case .nonceNotAllowed: "logout token must not carry a nonce"
            case .badIssuedAt: "logout token iat is missing or too old"
            }
        }
    }

    /// The exact `iss` required (the hub's issuer).
    public let issuer: String
    /// The client id `aud` must contain.
    public let audience: String
    /// The oldest `iat` accepted, in seconds before now (default 300).
    public let maximumAge: Double
    /// Clock skew tolerated on `iat` and `exp` (s; default 10).
    public let leeway: Double

    /// A verifier for logout tokens from `issuer` to the client `audience`.
    public init(issuer: String, audience: String, maximumAge: Double = 300, leeway: Double = 10) {
        self.issuer = issuer
        self.audience = audience
        self.maximumAge = maximumAge
        self.leeway = leeway
    }

    /// Verifies `token` against `keys` (the hub's JWKS) at time `now` (Unix s).
    ///
    /// - Throws: ``LogoutTokenError``; ``LogoutTokenError/invalidToken(_:)`` with
    ///   `"unknown key"` when no key has the token's `kid` (refresh the JWKS and retry once).
    public func verify(_ token: String, keys: VerificationKeys, now: Double = wallClockSeconds()) throws(LogoutTokenError) -> LogoutToken {
        var rules = JWTValidator.Configuration(
            issuer: issuer, audience: audience, requiredType: nil, leeway: leeway, maximumTokenSize: 8192, requiresExpiration: false)
        rules.checksAudience = true
        let verified: VerifiedJWT
        do {
            verified = try JWTValidator(configuration: rules, keys: keys).validate(token, now: now)
        } catch {
            if case .unknownKey = error { throw .invalidToken("unknown key") }
            throw .invalidToken("\(error)")
        }
        if let type = verified.header["typ"] {
            guard let text = type.stringValue, Self.isLogoutType(text) else { throw .wrongType }
        }
        let claims = verified.claims
        guard let issuedAt = claims.issuedAt, issuedAt.isFinite, issuedAt >= now - maximumAge - leeway else { throw .badIssuedAt }
        guard let events = claims["events"]?.objectValue, let event = events[Self.logoutEvent], event.objectValue != nil else {
            throw .missingEvent
        }
        if claims["nonce"] != nil { throw .nonceNotAllowed }
        let sessionID = claims["sid"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let subject = claims.subject.flatMap { $0.isEmpty ? nil : $0 }
        if sessionID == nil && subject == nil { throw .missingSubjectAndSession }
        return LogoutToken(sessionID: sessionID, subject: subject, tokenID: claims.tokenID, issuedAt: issuedAt)
    }

    /// `logout+jwt` or `application/logout+jwt`, without regard to case (RFC 7515 section 4.1.9).
    private static func isLogoutType(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return lowered == "logout+jwt" || lowered == "application/logout+jwt"
    }
}
