import HallpassCrypto
import HallpassJOSE
import HallpassStore

/// Builds and signs access tokens (RFC 9068) and ID tokens (OIDC Core).
struct TokenMinter: Sendable {
    let issuer: String
    let lifetime: Int64

    struct Subject {
        var userID: String
        var clientID: String
        var sessionID: String
        var scope: String
        var authTime: Int64
        /// The later of the user's and the client's watermarks: tokens must be issued strictly
        /// after it.
        var notBefore: Int64
    }

    /// `iat` for a new token: now, but never at or before the user's watermark, since a
    /// validator voids `iat <= nbf`; a login in the very second of a forced logout would
    /// otherwise get a token that is void on arrival.
    func issuedAt(now: Int64, notBefore: Int64) -> Int64 { max(now, notBefore + 1) }

    func accessToken(for subject: Subject, signer: JWTSigner, now: Int64) throws -> (token: String, tokenID: String, expiresAt: Int64) {
        let iat = issuedAt(now: now, notBefore: subject.notBefore)
        let exp = iat + lifetime
        let jti = try Identifiers.make()
        // Written straight to JSON (no dictionary, no sort): two tokens are minted per
        // refresh, the hub's busiest request.
        var claims = JSONObjectWriter()
        claims.add("iss", issuer)
        claims.add("sub", subject.userID)
        claims.add("aud", subject.clientID)
        claims.add("exp", exp)
        claims.add("iat", iat)
        claims.add("jti", jti)
        claims.add("client_id", subject.clientID)
        claims.add("scope", subject.scope)
        claims.add("sid", subject.sessionID)
        claims.add("auth_time", subject.authTime)
        return (try signer.sign(payload: claims.finish(), type: "at+jwt"), jti, exp)
    }

    func idToken(for subject: Subject, user: UserRecord?, nonce: String?, signer: JWTSigner, now: Int64) throws -> String {
        let iat = issuedAt(now: now, notBefore: subject.notBefore)
        var claims = JSONObjectWriter()
        claims.add("iss", issuer)
        claims.add("sub", subject.userID)
        claims.add("aud", subject.clientID)
        claims.add("azp", subject.clientID)
        claims.add("exp", iat + lifetime)
        claims.add("iat", iat)
        claims.add("auth_time", subject.authTime)
        claims.add("sid", subject.sessionID)
        if let nonce { claims.add("nonce", nonce) }
        if let user {
            let scopes = Set(subject.scope.split(separator: " "))
            if scopes.contains("profile") {
                claims.add("preferred_username", user.username)
                if !user.name.isEmpty { claims.add("name", user.name) }
            }
            if scopes.contains("email"), !user.email.isEmpty { claims.add("email", user.email) }
        }
        return try signer.sign(payload: claims.finish(), type: "JWT")
    }
}

/// The scopes the hub grants.
enum Scopes {
    static let supported: Set<Substring> = ["openid", "profile", "email"]
    static let defaultScope = "openid profile"

    /// The requested scope, normalized (deduplicated, in request order), or an error naming
    /// what is not supported.
    static func parse(_ requested: String?) throws -> String {
        guard let requested else { return defaultScope }
        guard requested.utf8.count <= 1024 else { throw OAuthError.invalidScope("the scope is too long") }
        var seen: Set<Substring> = []
        var ordered: [Substring] = []
        for scope in requested.split(separator: " ") {
            guard supported.contains(scope) else { throw OAuthError.invalidScope("unsupported scope; supported: openid profile email") }
            if seen.insert(scope).inserted { ordered.append(scope) }
        }
        guard !ordered.isEmpty else { return defaultScope }
        return ordered.joined(separator: " ")
    }

    /// Whether every scope of `requested` is in `granted`.
    static func isSubset(_ requested: String, of granted: String) -> Bool {
        Set(requested.split(separator: " ")).isSubset(of: Set(granted.split(separator: " ")))
    }
}

/// Builds and signs OIDC Back-Channel Logout 1.0 logout tokens (section 2.4).
struct LogoutTokenMinter: Sendable {
    let issuer: String
    /// Lifetime (s); the spec recommends at most two minutes.
    let lifetime: Int64

    /// The `events` member that makes a JWT a logout token.
    static let eventType = "http://schemas.openid.net/event/backchannel-logout"
    /// The JWT header `typ` of logout tokens.
    static let tokenType = "logout+jwt"

    /// A logout token for `clientID` (its `aud`) about session `sessionID` of user `userID`.
    /// It has `sid` and `sub`, a fresh `jti`, and never a `nonce`.
    func logoutToken(userID: String, sessionID: String, clientID: String, signer: JWTSigner, now: Int64) throws -> String {
        let claims: [String: JSONValue] = [
            "iss": .string(issuer),
            "sub": .string(userID),
            "aud": .string(clientID),
            "iat": .integer(now),
            "exp": .integer(now + lifetime),
            "jti": .string(try Identifiers.make()),
            "sid": .string(sessionID),
            "events": .object([Self.eventType: .object([:])]),
        ]
        return try signer.sign(claims: claims, type: Self.tokenType)
    }
}
