import HallpassJOSE
import HallpassStore
import Hummingbird

/// The client credentials grant (RFC 6749 section 4.4): a confidential client registered for it
/// gets an access token for itself, with no user, no session, no refresh token and no ID
/// token. The token is an RFC 9068 JWT whose `sub` is the client id (section 2.2).
struct ClientCredentialsGrant: Sendable {
    /// The grant type, as requested and as registered.
    static let grantType = "client_credentials"

    /// Scopes that describe a user (OIDC Core section 5.4, and `offline_access` for refresh
    /// tokens). A machine client has no user to describe and gets no refresh token.
    static let userScopes: Set<Substring> = ["openid", "profile", "email", "offline_access"]

    let services: HubServices

    /// Answers a token request whose client `ClientAuthenticator` has authenticated.
    func handle(_ form: FormBody, client: ClientRecord) throws -> Response {
        // Section 4.4: confidential clients only. A public client passed authentication by
        // naming itself, which proves nothing, so it is refused as unauthorized for the grant.
        guard client.isConfidential else {
            throw OAuthError.unauthorizedClient("a public client may not use the client_credentials grant")
        }
        guard client.grantTypes.contains(Self.grantType) else {
            throw OAuthError.unauthorizedClient("this client may not use the client_credentials grant")
        }
        let scope = try Self.grantedScope(form["scope"])
        let signer = try services.signer()
        let now = services.now
        let access = try services.minter.clientAccessToken(for: client, scope: scope, signer: signer, now: now)
        // Section 4.4.3: no refresh token. The client asks again with its credentials instead.
        var body = JSONObjectWriter(capacity: 1024)
        body.add("access_token", access.token)
        body.add("token_type", "Bearer")
        body.add("expires_in", access.expiresAt - now)
        if !scope.isEmpty { body.add("scope", scope) }
        return Reply.json(body.finish())
    }

    /// The scope granted for `requested`: the values the hub knows, less those describing a
    /// user, deduplicated in request order; possibly empty. Values the hub does not know are
    /// ignored, not refused (OIDC Core section 3.1.2.1), as for every grant.
    static func grantedScope(_ requested: String?) throws(OAuthError) -> String {
        guard let requested else { return "" }
        guard requested.utf8.count <= 1024 else { throw OAuthError.invalidScope("the scope is too long") }
        var seen: Set<Substring> = []
        var granted: [Substring] = []
        for value in requested.split(separator: " ")
        where Scopes.supported.contains(value) && !userScopes.contains(value) && seen.insert(value).inserted {
            granted.append(value)
        }
        return granted.joined(separator: " ")
    }
}

extension TokenMinter {
    /// An access token for `client` itself (RFC 9068): `sub` and `aud` are the client id, and
    /// there is no `sid` or `auth_time`, since no user authenticated.
    ///
    /// `iat` is after the watermark a removed client of the same id left (copied into the
    /// record when this one was registered): validators void that id's tokens up to it.
    func clientAccessToken(
        for client: ClientRecord, scope: String, signer: JWTSigner, now: Int64
    ) throws -> (token: String, tokenID: String, expiresAt: Int64) {
        let iat = issuedAt(now: now, notBefore: client.notBefore)
        let exp = iat + lifetime
        let jti = try Identifiers.make()
        var claims = JSONObjectWriter()
        claims.add("iss", issuer)
        claims.add("sub", client.id)
        claims.add("aud", client.id)
        claims.add("exp", exp)
        claims.add("iat", iat)
        claims.add("jti", jti)
        claims.add("client_id", client.id)
        if !scope.isEmpty { claims.add("scope", scope) }
        return (try signer.sign(payload: claims.finish(), type: "at+jwt"), jti, exp)
    }
}
