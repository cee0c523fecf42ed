import HallpassJOSE
import HallpassStore
import HTTPTypes
import Hummingbird
import Logging

/// `POST /oauth2/token` (RFC 6749 section 3.2): the `password` and `refresh_token` grants.
struct TokenEndpoint: Sendable {
    let services: HubServices

    func handle(_ request: Request, context: HubRequestContext) async throws -> Response {
        let form = try await request.form(limit: services.configuration.maximumBodySize)
        guard let grantType = form["grant_type"] else { throw OAuthError.invalidRequest("grant_type is required") }
        let client = try await services.authenticator.authenticate(headers: request.headers, form: form)
        switch grantType {
        case "password":
            guard client.grantTypes.contains("password") else {
                throw OAuthError.unauthorizedClient("this client may not use the password grant")
            }
            return try await passwordGrant(
                form, client: client, address: context.clientAddress, userAgent: request.headers[.userAgent] ?? "")
        case "refresh_token":
            guard client.grantTypes.contains("refresh_token") else {
                throw OAuthError.unauthorizedClient("this client may not use the refresh_token grant")
            }
            return try await refreshGrant(form, client: client, address: context.clientAddress)
        default:
            throw OAuthError.unsupportedGrantType("supported grant types: password, refresh_token")
        }
    }

    // MARK: password

    private func passwordGrant(_ form: FormBody, client: ClientRecord, address: String, userAgent: String) async throws -> Response {
        guard let username = form["username"], let password = form["password"] else {
            throw OAuthError.invalidRequest("username and password are required")
        }
        let scope = try Scopes.parse(form["scope"])
        // Fail before the session starts if no token can be signed (see `HubServices.signer()`).
        _ = try services.signer()
        let store = services.store
        // Over-long input is answered like a wrong password, after the same work, so neither
        // length nor timing says which usernames exist.
        let plausible = username.utf8.count <= 256 && password.utf8.count <= 1024
        if let retryAfter = try await store.reserveLoginAttempt(
            username: plausible ? username : "", address: address, limits: services.configuration.loginThrottle)
        {
            services.metrics.login("throttled")
            throw OAuthError.throttled(retryAfterSeconds: (retryAfter + 999) / 1000)
        }
        let user = plausible ? try await store.user(named: username) : nil
        let verified = await services.passwords.verify(plausible ? password : "", against: user?.passwordHash)
        guard verified, let user else {
            services.metrics.login("bad_credentials")
            try await store.appendEvent(
                "login_failed", user: user?.id ?? "", client: client.id, actor: address, detail: "bad_credentials")
            throw OAuthError.invalidGrant("invalid username or password")
        }
        try await store.releaseLoginAttempt(username: username, address: address)
        let policy = try await store.globalSingleLoginPolicy() ?? services.configuration.singleLoginPolicy
        let outcome = try await store.startSession(
            userID: user.id, clientID: client.id, scope: scope, timeouts: services.configuration.sessionTimeouts,
            defaultPolicy: policy, actor: address, remoteAddress: address, userAgent: userAgent)
        switch outcome {
        case .started(let session):
            services.metrics.login("success")
            if !session.endedSessions.isEmpty { services.metrics.revocation("session") }
            return try tokenResponse(
                subject: .init(
                    userID: user.id, clientID: client.id, sessionID: session.sessionID, scope: scope,
                    authTime: services.now, notBefore: session.userNotBefore),
                refreshToken: session.refreshToken, user: user)
        case .sessionExists:
            services.metrics.login("session_exists")
            throw OAuthError("session_exists", "this user already has an active session and the single-login policy is deny-new")
        case .userDisabled:
            services.metrics.login("disabled")
            throw OAuthError.invalidGrant("the user is disabled")
        case .unknownUser:
            services.metrics.login("bad_credentials")
            throw OAuthError.invalidGrant("invalid username or password")
        }
    }

    // MARK: refresh_token

    private func refreshGrant(_ form: FormBody, client: ClientRecord, address: String) async throws -> Response {
        guard let presented = form["refresh_token"] else { throw OAuthError.invalidRequest("refresh_token is required") }
        guard let token = RefreshToken(parsing: presented) else {
            services.metrics.refresh("invalid")
            throw OAuthError.invalidGrant("the refresh token is invalid, expired or revoked")
        }
        // Fail before rotating if no token can be signed: a rotation whose answer is lost
        // would leave the client holding a rotated token.
        _ = try services.signer()
        let outcome = try await services.store.rotate(
            token, clientID: client.id, grace: services.configuration.refreshGrace * 1000, actor: address)
        let grant: RefreshGrant
        switch outcome {
        case .rotated(let rotated):
            services.metrics.refresh("rotated")
            grant = rotated
        case .replayed(let replayed):
            services.metrics.refresh("replayed")
            grant = replayed
        case .reuseDetected(let userID):
            services.metrics.refresh("reuse_detected")
            services.metrics.revocation("session")
            services.logger.warning(
                "refresh token reuse detected; session ended", metadata: ["sid": "\(token.sessionID)", "user": "\(userID)", "client": "\(client.id)"])
            throw OAuthError.invalidGrant("the refresh token was already used; the session has ended")
        case .invalid:
            services.metrics.refresh("invalid")
            throw OAuthError.invalidGrant("the refresh token is invalid, expired or revoked")
        }
        var scope = grant.scope
        if let requested = form["scope"] {
            let narrowed = try Scopes.parse(requested)
            guard Scopes.isSubset(narrowed, of: grant.scope) else {
                throw OAuthError.invalidScope("a refresh may not widen the granted scope")
            }
            scope = narrowed
        }
        return try tokenResponse(
            subject: .init(
                userID: grant.userID, clientID: client.id, sessionID: token.sessionID, scope: scope,
                authTime: grant.authTime, notBefore: grant.userNotBefore),
            refreshToken: grant.refreshToken, user: nil)
    }

    // MARK: response

    private func tokenResponse(subject: TokenMinter.Subject, refreshToken: RefreshToken, user: UserRecord?) throws -> Response {
        let signer = try services.signer()
        let now = services.now
        let access = try services.minter.accessToken(for: subject, signer: signer, now: now)
        var body: [String: JSONValue] = [
            "access_token": .string(access.token),
            "token_type": "Bearer",
            "expires_in": .integer(access.expiresAt - now),
            "refresh_token": .string(refreshToken.encoded),
            "scope": .string(subject.scope),
        ]
        if subject.scope.split(separator: " ").contains("openid") {
            body["id_token"] = .string(try services.minter.idToken(for: subject, user: user, nonce: nil, signer: signer, now: now))
        }
        return Reply.json(.object(body))
    }
}
