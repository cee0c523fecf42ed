import HallpassJOSE
import HallpassStore
import Hummingbird

/// End-session (API and browser forms) and userinfo.
struct SessionEndpoints: Sendable {
    let services: HubServices
    let browser: BrowserEndpoints

    /// OIDC RP-Initiated Logout. API form: `POST` with `Authorization: Bearer <access token>`
    /// ends the token's whole session, at every app, and answers 204. Browser form: `GET`, or
    /// `POST` of a form without a bearer token (see ``BrowserEndpoints/endSession(_:parameters:)``).
    func endSession(_ request: Request, context: HubRequestContext) async throws -> Response {
        if request.method == .get {
            do {
                return await browser.endSession(request, parameters: try BrowserEndpoints.query(request))
            } catch {
                return Page.message(.badRequest, title: "Invalid sign-out request", message: "The request's parameters are malformed or repeated.")
            }
        }
        guard request.headers[.authorization] != nil else {
            return await browser.endSession(request, parameters: try await browser.parameters(request))
        }
        guard let token = request.bearerToken else { throw OAuthError.invalidToken("a bearer access token is required") }
        guard let verified = try await services.liveAccessToken(token), let facts = HubServices.facts(of: verified) else {
            throw OAuthError.invalidToken("the access token is invalid, expired or revoked")
        }
        guard let sessionID = facts.sessionID else { throw OAuthError.invalidToken("a client's own access token has no session to end") }
        if try await services.store.endSession(sessionID, reason: "logout", actor: "user:" + facts.userID) != nil {
            services.metrics.revocation("session")
        }
        return Reply.empty(.noContent)
    }

    /// OIDC Core section 5.3: the user's claims, as the token's scope allows. The access
    /// token comes in the `Authorization: Bearer` header (RFC 6750 section 2.1) or, in a
    /// form-encoded `POST`, as the `access_token` parameter (section 2.2); one way only.
    func userinfo(_ request: Request, context: HubRequestContext) async throws -> Response {
        let token = try await presentedAccessToken(request)
        // A client's own token speaks for no user (its `sub` is a client id).
        guard let verified = try await services.liveAccessToken(token), let facts = HubServices.facts(of: verified),
            !facts.isClientToken, let user = try await services.store.user(id: facts.userID), !user.isDisabled
        else {
            throw OAuthError.invalidToken("the access token is invalid, expired or revoked")
        }
        var claims = JSONObjectWriter(capacity: 256)
        claims.add("sub", user.id)
        UserClaims.write(user, scope: verified.claims["scope"]?.stringValue ?? "", into: &claims)
        return Reply.json(claims.finish())
    }

    /// The access token of a UserInfo request, from the header or a form body.
    private func presentedAccessToken(_ request: Request) async throws -> String {
        var inBody: String?
        if request.method == .post, request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true {
            inBody = try await request.form(limit: services.configuration.maximumBodySize)["access_token"]
        }
        switch (request.headers[.authorization], inBody) {
        case (.some, .some):
            // RFC 6750 section 2: "Clients MUST NOT use more than one method".
            throw OAuthError.invalidRequest("send the access token in the Authorization header or the body, not both")
        case (.some, nil):
            if let token = request.bearerToken { return token }
        case (nil, let token?) where !token.isEmpty:
            return token
        default:
            break
        }
        throw OAuthError.invalidToken("a bearer access token is required")
    }
}
