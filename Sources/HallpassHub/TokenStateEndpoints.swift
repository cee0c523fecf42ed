import HallpassJOSE
import HallpassStore
import Hummingbird

/// Token revocation (RFC 7009) and introspection (RFC 7662).
struct TokenStateEndpoints: Sendable {
    let services: HubServices

    /// RFC 7009: a refresh token ends its client's grant (and the access tokens issued under
    /// it); an access token is revoked by its `jti`. Unknown and invalid tokens answer 200,
    /// as section 2.2 requires, so the endpoint says nothing about which tokens exist.
    func revoke(_ request: Request, context: HubRequestContext) async throws -> Response {
        let form = try await request.form(limit: services.configuration.maximumBodySize)
        let client = try await services.authenticator.authenticate(headers: request.headers, form: form)
        guard let token = form["token"] else { throw OAuthError.invalidRequest("token is required") }
        let hint = form["token_type_hint"]
        if let hint, hint != "refresh_token", hint != "access_token" {
            throw OAuthError("unsupported_token_type", "token_type_hint must be refresh_token or access_token")
        }
        if let refresh = RefreshToken(parsing: token) {
            if try await services.store.revokeGrant(refresh, clientID: client.id, actor: context.clientAddress) != nil {
                services.metrics.revocation("grant")
            }
            return Reply.empty()
        }
        let snapshot = try services.keys()
        guard let verified = try? snapshot.validate(token), let facts = HubServices.facts(of: verified) else {
            return Reply.empty()
        }
        guard facts.clientID == client.id else {
            throw OAuthError("unauthorized_client", "the token was not issued to this client")
        }
        try await services.store.revokeTokenID(
            facts.tokenID, expiresAt: verified.claims.expiresAt.map { Int64($0) }, actor: context.clientAddress,
            userID: facts.isClientToken ? "" : facts.userID, sessionID: facts.sessionID ?? "", clientID: facts.clientID)
        services.metrics.revocation("access_token")
        return Reply.empty()
    }

    /// RFC 7662, for confidential clients only: `active: false` for anything revoked, expired,
    /// unknown or malformed.
    func introspect(_ request: Request, context: HubRequestContext) async throws -> Response {
        let form = try await request.form(limit: services.configuration.maximumBodySize)
        _ = try await services.authenticator.authenticate(headers: request.headers, form: form, requireConfidential: true)
        guard let token = form["token"] else { throw OAuthError.invalidRequest("token is required") }
        let inactive: JSONValue = ["active": false]
        if let refresh = RefreshToken(parsing: token) {
            guard let grant = try await services.store.liveGrant(for: refresh) else { return Reply.json(inactive) }
            return Reply.json([
                "active": true,
                "token_type": "refresh_token",
                "client_id": .string(grant.clientID),
                "sub": .string(grant.session.userID),
                "sid": .string(grant.session.id),
                "scope": .string(grant.scope),
                "iss": .string(services.configuration.issuer),
                "exp": .integer(grant.session.expiresAt / 1000),
                "auth_time": .integer(grant.session.authTime),
            ])
        }
        guard let verified = try await services.liveAccessToken(token) else { return Reply.json(inactive) }
        // The token's claims plus two members, written straight out rather than copied into a
        // new dictionary and sorted: a resource server may introspect on every request.
        var answer = JSONObjectWriter(capacity: 512)
        answer.add("active", JSONValue.bool(true))
        answer.add("token_type", "Bearer")
        for (name, value) in verified.claims.members where name != "active" && name != "token_type" {
            answer.add(name, value)
        }
        return Reply.json(answer.finish())
    }
}
