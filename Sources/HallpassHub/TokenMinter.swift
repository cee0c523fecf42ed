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
        /// How the user authenticated in the session: `amr` and `acr` (RFC 8176).
        var methods: AuthenticationMethods = .password
        /// `preferred_username`, when known (a grant whose user record was not read has it from
        /// the store's session script).
        var username: String?
    }

    /// The claims every user token carries about the sign-in: `amr` and `acr`.
    private static func writeAuthentication(_ methods: AuthenticationMethods, into claims: inout JSONObjectWriter) {
        claims.add("amr", JSONValue.array(methods.values.map { .string($0) }))
        claims.add("acr", methods.contextClass)
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
        // RFC 9068 section 2.2.2 allows identity claims; apps need the name to greet the user
        // and the sign-in's strength to decide on a step up (RFC 9470).
        if let username = subject.username { claims.add("preferred_username", username) }
        Self.writeAuthentication(subject.methods, into: &claims)
        return (try signer.sign(payload: claims.finish(), type: "at+jwt"), jti, exp)
    }

    /// An ID token (OIDC Core section 2) for `subject`, signed by `signer` (the client's ID
    /// token algorithm, see ``HubServices/idTokenSigner(for:)``). With `accessToken`, the
    /// token it is issued with, it carries `at_hash` (section 3.1.3.6), which strict clients
    /// check when present.
    func idToken(
        for subject: Subject, user: UserRecord?, nonce: String?, accessToken: String?, signer: JWTSigner, now: Int64
    ) throws -> String {
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
        Self.writeAuthentication(subject.methods, into: &claims)
        if let nonce { claims.add("nonce", nonce) }
        if let accessToken { claims.add("at_hash", Self.accessTokenHash(accessToken, algorithm: signer.algorithm)) }
        if let user { UserClaims.write(user, scope: subject.scope, into: &claims) }
        return try signer.sign(payload: claims.finish(), type: "JWT")
    }

    /// `at_hash` (OIDC Core section 3.1.3.6): the left half of the access token's hash, with
    /// the hash of the ID token's `alg` (SHA-256 for ES256 and RS256; SHA-512 for EdDSA over
    /// Ed25519, as OpenID's EdDSA registration and the common libraries have it), base64url.
    static func accessTokenHash(_ accessToken: String, algorithm: JWSAlgorithm) -> String {
        let digest = algorithm == .edDSA ? Digest.sha512(accessToken.utf8) : Digest.sha256(accessToken.utf8)
        return Base64URL.encode(digest.prefix(digest.count / 2))
    }
}

/// The user's own claims that a scope releases (OIDC Core section 5.4), written the same way
/// into ID tokens and UserInfo answers, so a client sees the same claims whichever it reads.
enum UserClaims {
    static func write(_ user: UserRecord, scope: String, into claims: inout JSONObjectWriter) {
        let scopes = scope.split(separator: " ")
        if scopes.contains("profile") {
            claims.add("preferred_username", user.username)
            if !user.name.isEmpty { claims.add("name", user.name) }
        }
        if scopes.contains("email"), !user.email.isEmpty {
            claims.add("email", user.email)
            claims.add("email_verified", JSONValue.bool(user.emailVerified))
        }
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
