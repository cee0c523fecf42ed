import HallpassJOSE
import HallpassStore
import Hummingbird

extension Paths {
    /// RFC 8628 section 3.1.
    static let deviceAuthorization = "/oauth2/device_authorization"
    /// The verification page (`verification_uri`), where the user enters the user code.
    static let deviceVerification = "/device"
}

/// The device authorization grant's names (RFC 8628).
enum DeviceGrant {
    /// The `grant_type` of the token request, and what a client must be registered for.
    static let grantType = "urn:ietf:params:oauth:grant-type:device_code"
}

extension OAuthError {
    /// RFC 8628 section 3.5: the user has not decided yet.
    static let authorizationPending = OAuthError("authorization_pending", "the user has not yet approved or denied this device")
    /// RFC 8628 section 3.5: poll less often; the interval grew.
    static func slowDown(interval: Int64) -> OAuthError {
        OAuthError("slow_down", "polling too fast; wait at least \(interval) seconds between requests")
    }
    /// RFC 8628 section 3.5: the user denied.
    static let accessDenied = OAuthError("access_denied", "the user denied the authorization request")
    /// RFC 8628 section 3.5: the device code expired.
    static let expiredToken = OAuthError("expired_token", "the device code has expired; start again")
}

/// `POST /oauth2/device_authorization` (RFC 8628 section 3.1): a device asks for a device code
/// and a user code. Clients authenticate as at the token endpoint.
struct DeviceAuthorizationEndpoint: Sendable {
    let services: HubServices

    func handle(_ request: Request, context: HubRequestContext) async throws -> Response {
        let form = try await request.form(limit: services.configuration.maximumBodySize)
        let client = try await services.authenticator.authenticate(headers: request.headers, form: form)
        guard client.grantTypes.contains(DeviceGrant.grantType) else {
            throw OAuthError.unauthorizedClient("this client may not use the device authorization grant")
        }
        let scope = try Scopes.parse(form["scope"])
        let settings = services.configuration.deviceAuthorization
        let started = try await services.store.startDeviceAuthorization(
            clientID: client.id, scope: scope, lifetime: settings.lifetime * 1000, interval: settings.interval,
            actor: context.clientAddress)
        let verification = services.configuration.issuer + Paths.deviceVerification
        var body = JSONObjectWriter(capacity: 512)
        body.add("device_code", started.deviceCode)
        body.add("user_code", started.userCode.display)
        body.add("verification_uri", verification)
        body.add("verification_uri_complete", verification + "?user_code=" + started.userCode.display)
        body.add("expires_in", settings.lifetime)
        body.add("interval", settings.interval)
        return Reply.json(body.finish())
    }
}

extension TokenEndpoint {
    /// How far short of the interval a poll may come without `slow_down` (ms): the previous
    /// poll may have reached another hub, whose clock differs a little.
    static let pollTolerance: Int64 = 200

    /// The token request of RFC 8628 section 3.4: one poll with the device code.
    func deviceCodeGrant(_ form: FormBody, client: ClientRecord, address: String) async throws -> Response {
        guard let deviceCode = form["device_code"] else { throw OAuthError.invalidRequest("device_code is required") }
        // Fail before the device code is used up if no token can be signed.
        _ = try services.signer()
        let idTokenSigner = try await services.idTokenSigner(for: client)
        let invalid = OAuthError.invalidGrant("the device code is invalid, was issued to another client, or was already used")
        let approved: ApprovedDeviceAuthorization
        switch try await services.store.pollDeviceAuthorization(
            deviceCode: deviceCode, clientID: client.id, slowDownIncrement: services.configuration.deviceAuthorization.slowDownIncrement,
            tolerance: Self.pollTolerance, actor: address)
        {
        case .approved(let record): approved = record
        case .pending: throw OAuthError.authorizationPending
        case .slowDown(let interval): throw OAuthError.slowDown(interval: interval)
        case .denied: throw OAuthError.accessDenied
        case .expired: throw OAuthError.expiredToken
        case .used(let sessionID, let grantID):
            // As for a replayed authorization code: whoever holds a copy gets nothing, and what
            // the first exchange issued is revoked.
            if try await services.store.revokeReplayedDeviceGrant(sessionID: sessionID, clientID: client.id, grantID: grantID, actor: address) {
                services.metrics.revocation("grant")
                services.logger.warning("device code replayed; its grant was revoked", metadata: ["client": "\(client.id)"])
            }
            throw invalid
        case .invalid: throw invalid
        }
        // The device code is used up; the grant joins the approving user's session, in its shard.
        let grant: RefreshGrant
        switch try await services.store.joinSession(
            sessionID: approved.sessionID, clientID: client.id, scope: approved.scope, actor: address)
        {
        case .joined(let joined): grant = joined
        case .sessionEnded, .codeReplayed: throw OAuthError.invalidGrant("the session that approved this device has ended")
        case .userDisabled: throw OAuthError.invalidGrant("the user is disabled")
        }
        do {
            try await services.store.bindDeviceGrant(deviceCode: deviceCode, grantID: grant.refreshToken.grantID)
        } catch {
            // The grant exists: answer with its tokens. Only a later replay's revocation is lost.
            services.logger.warning("could not record the device grant for replay detection", metadata: ["client": "\(client.id)"])
        }
        services.metrics.login("device")
        let user = try await services.store.user(id: grant.userID)
        return try tokenResponse(
            subject: .init(
                userID: grant.userID, clientID: client.id, sessionID: approved.sessionID, scope: approved.scope,
                authTime: approved.authTime, notBefore: max(grant.userNotBefore, client.notBefore), methods: grant.methods,
                username: user?.username ?? grant.username),
            refreshToken: grant.refreshToken, user: user, idTokenSigner: idTokenSigner)
    }
}
