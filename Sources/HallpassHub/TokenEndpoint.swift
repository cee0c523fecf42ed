import HallpassCrypto
import HallpassJOSE
import HallpassStore
import HTTPTypes
import Hummingbird
import Logging

/// `POST /oauth2/token` (RFC 6749 section 3.2): the `authorization_code` (with PKCE, RFC
/// 7636), `password`, `refresh_token` and `client_credentials` grants, and the device code
/// (RFC 8628, in DeviceAuthorizationEndpoint.swift).
struct TokenEndpoint: Sendable {
    let services: HubServices

    func handle(_ request: Request, context: HubRequestContext) async throws -> Response {
        let form = try await request.form(limit: services.configuration.maximumBodySize)
        guard let grantType = form["grant_type"] else { throw OAuthError.invalidRequest("grant_type is required") }
        let client = try await services.authenticator.authenticate(headers: request.headers, form: form)
        switch grantType {
        case "authorization_code":
            guard client.grantTypes.contains("authorization_code") else {
                throw OAuthError.unauthorizedClient("this client may not use the authorization_code grant")
            }
            return try await codeGrant(form, client: client, address: context.clientAddress)
        case "password":
            guard client.grantTypes.contains("password") else {
                throw OAuthError.unauthorizedClient("this client may not use the password grant")
            }
            return try await passwordGrant(
                form, client: client, address: context.clientAddress, userAgent: UserAgentSummary.describe(request.headers[.userAgent] ?? ""))
        case "refresh_token":
            guard client.grantTypes.contains("refresh_token") else {
                throw OAuthError.unauthorizedClient("this client may not use the refresh_token grant")
            }
            return try await refreshGrant(form, client: client, address: context.clientAddress)
        case ClientCredentialsGrant.grantType:
            return try ClientCredentialsGrant(services: services).handle(form, client: client)
        case DeviceGrant.grantType:
            guard client.grantTypes.contains(DeviceGrant.grantType) else {
                throw OAuthError.unauthorizedClient("this client may not use the device authorization grant")
            }
            return try await deviceCodeGrant(form, client: client, address: context.clientAddress)
        default:
            throw OAuthError.unsupportedGrantType(
                "supported grant types: authorization_code, password, refresh_token, client_credentials, \(DeviceGrant.grantType)")
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
        let idTokenSigner = try await services.idTokenSigner(for: client)
        let store = services.store
        let user: UserRecord
        switch try await services.authenticateUser(username: username, password: password, clientID: client.id, address: address) {
        case .verified(let verified): user = verified
        case .throttled(let seconds): throw OAuthError.throttled(retryAfterSeconds: seconds)
        case .badCredentials: throw OAuthError.invalidGrant("invalid username or password")
        }
        let methods = try await secondFactor(of: user, otp: form["otp"], client: client, address: address)
        let policy = try await services.singleLoginPolicy()
        let outcome = try await store.startSession(
            userID: user.id, clientID: client.id, scope: scope, timeouts: services.configuration.sessionTimeouts,
            defaultPolicy: policy, actor: address, remoteAddress: address, userAgent: userAgent, methods: methods)
        switch outcome {
        case .started(let session):
            services.metrics.login("success")
            if !session.endedSessions.isEmpty { services.metrics.revocation("session") }
            return try tokenResponse(
                subject: .init(
                    userID: user.id, clientID: client.id, sessionID: session.sessionID, scope: scope,
                    authTime: services.now, notBefore: max(session.userNotBefore, client.notBefore), methods: methods,
                    username: user.username),
                refreshToken: session.refreshToken, user: user, idTokenSigner: idTokenSigner)
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

    /// The password grant's second step (CONTRACT section 9): a user with a second factor
    /// sends its code as `otp`. Without it the answer is `mfa_required`; a user whom a policy
    /// requires to have one and who has none gets `mfa_enrollment_required` (set-up happens in
    /// a browser, at the hub's account page). A wrong code is `invalid_grant` and counts
    /// against the login throttle.
    private func secondFactor(of user: UserRecord, otp: String?, client: ClientRecord, address: String) async throws -> AuthenticationMethods {
        guard user.hasSecondFactor else {
            if try await services.requiresSecondFactor(user) {
                throw OAuthError(
                    "mfa_enrollment_required", "this user must set up a second factor first: sign in at the hub's account page")
            }
            return .password
        }
        guard let otp, !otp.isEmpty else {
            throw OAuthError("mfa_required", "this user has a second factor: send its current code (or a recovery code) as otp")
        }
        switch try await services.checkSecondFactor(user, code: otp, clientID: client.id, address: address) {
        case .accepted: return .passwordAndOneTimeCode
        case .wrong: throw OAuthError.invalidGrant("the one-time code is wrong or was already used")
        case .throttled(let seconds): throw OAuthError.throttled(retryAfterSeconds: seconds)
        }
    }

    // MARK: authorization_code

    private func codeGrant(_ form: FormBody, client: ClientRecord, address: String) async throws -> Response {
        guard let code = form["code"] else { throw OAuthError.invalidRequest("code is required") }
        guard let redirectURI = form["redirect_uri"] else { throw OAuthError.invalidRequest("redirect_uri is required") }
        // Fail before the code is used up if no token can be signed.
        _ = try services.signer()
        let idTokenSigner = try await services.idTokenSigner(for: client)
        let invalid = OAuthError.invalidGrant("the authorization code is invalid, expired or already used")
        let record: AuthorizationCodeRecord
        let codeKey: String
        switch try await services.store.consumeAuthorizationCode(code, actor: address) {
        case .redeemed(let redeemed, let key):
            record = redeemed
            codeKey = key
        case .replayed:
            services.metrics.revocation("grant")
            services.logger.warning("authorization code replayed; its grant was revoked", metadata: ["client": "\(client.id)"])
            throw invalid
        case .invalid:
            throw invalid
        }
        // RFC 6749 section 4.1.3: issued to this client, for this redirect URI; RFC 7636
        // section 4.6: the verifier hashes to the challenge. The code is used up either way.
        guard record.clientID == client.id, RedirectURI.isSame(redirectURI, record.redirectURI) else { throw invalid }
        let verifier = form["code_verifier"]
        if record.codeChallenge.isEmpty {
            guard verifier == nil else { throw OAuthError.invalidGrant("no code_challenge was sent for this code") }
        } else {
            guard let verifier, PKCE.isValidVerifier(verifier),
                ConstantTime.equals(Array(PKCE.challenge(for: verifier).utf8), Array(record.codeChallenge.utf8))
            else { throw OAuthError.invalidGrant("the code_verifier does not match the code_challenge") }
        }
        let grant: RefreshGrant
        switch try await services.store.joinSession(
            sessionID: record.sessionID, clientID: client.id, scope: record.scope, actor: address, codeKey: codeKey)
        {
        case .joined(let joined): grant = joined
        case .sessionEnded, .codeReplayed: throw invalid
        case .userDisabled: throw OAuthError.invalidGrant("the user is disabled")
        }
        services.metrics.login("code")
        let user = try await services.store.user(id: grant.userID)
        return try tokenResponse(
            subject: .init(
                userID: grant.userID, clientID: client.id, sessionID: record.sessionID, scope: record.scope,
                authTime: record.authTime, notBefore: max(grant.userNotBefore, client.notBefore), methods: record.methods,
                username: user?.username ?? grant.username),
            refreshToken: grant.refreshToken, user: user, idTokenSigner: idTokenSigner, nonce: record.nonce.isEmpty ? nil : record.nonce)
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
        let idTokenSigner = try await services.idTokenSigner(for: client)
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
            // The end is a security write: say so only once the replicas hold it, else 503 (the
            // session is ended on the master either way; a retry finds it gone and gets 400).
            try await services.store.confirmSessionEnd(token.sessionID)
            throw OAuthError.invalidGrant("the refresh token was already used; the session has ended")
        case .invalid:
            services.metrics.refresh("invalid")
            throw OAuthError.invalidGrant("the refresh token is invalid, expired or revoked")
        }
        var scope = grant.scope
        if let narrowed = try Scopes.known(form["scope"]) {
            guard Scopes.isSubset(narrowed, of: grant.scope) else {
                throw OAuthError.invalidScope("a refresh may not widen the granted scope")
            }
            scope = narrowed
        }
        return try tokenResponse(
            subject: .init(
                userID: grant.userID, clientID: client.id, sessionID: token.sessionID, scope: scope,
                authTime: grant.authTime, notBefore: max(grant.userNotBefore, client.notBefore), methods: grant.methods,
                username: grant.username),
            refreshToken: grant.refreshToken, user: nil, idTokenSigner: idTokenSigner)
    }

    // MARK: response

    func tokenResponse(
        subject: TokenMinter.Subject, refreshToken: RefreshToken, user: UserRecord?, idTokenSigner: JWTSigner, nonce: String? = nil
    ) throws -> Response {
        let signer = try services.signer()
        let now = services.now
        let access = try services.minter.accessToken(for: subject, signer: signer, now: now)
        var body = JSONObjectWriter(capacity: 2048)
        body.add("access_token", access.token)
        body.add("token_type", "Bearer")
        body.add("expires_in", access.expiresAt - now)
        body.add("refresh_token", refreshToken.encoded)
        body.add("scope", subject.scope)
        if subject.scope.split(separator: " ").contains("openid") {
            body.add(
                "id_token",
                try services.minter.idToken(
                    for: subject, user: user, nonce: nonce, accessToken: access.token, signer: idTokenSigner, now: now))
        }
        return Reply.json(body.finish())
    }
}
