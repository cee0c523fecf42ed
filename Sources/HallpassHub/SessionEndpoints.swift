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

    /// OIDC Core section 5.3: the user's claims, as the token's scope allows.
    func userinfo(_ request: Request, context: HubRequestContext) async throws -> Response {
        guard let token = request.bearerToken else { throw OAuthError.invalidToken("a bearer access token is required") }
        // A client's own token speaks for no user (its `sub` is a client id).
        guard let verified = try await services.liveAccessToken(token), let facts = HubServices.facts(of: verified),
            !facts.isClientToken, let user = try await services.store.user(id: facts.userID), !user.isDisabled
        else {
            throw OAuthError.invalidToken("the access token is invalid, expired or revoked")
        }
        let scopes = Set((verified.claims["scope"]?.stringValue ?? "").split(separator: " "))
        var claims: [String: JSONValue] = ["sub": .string(user.id)]
        if scopes.contains("profile") {
            claims["preferred_username"] = .string(user.username)
            if !user.name.isEmpty { claims["name"] = .string(user.name) }
        }
        if scopes.contains("email"), !user.email.isEmpty { claims["email"] = .string(user.email) }
        return Reply.json(.object(claims))
    }
}
