import ArgumentParser
import Foundation
import Hallpass
import HallpassCrypto
import HallpassHummingbird
import HallpassJOSE
public import Hummingbird
import HTTPTypes
public import Logging
import NIOCore
import ServiceLifecycle

/// A sample member app: the pages, the OIDC relying party, `/api/me` and the back-channel
/// logout endpoint, over one ``AppProfile``. Each app's `main.swift` is one line:
/// `await SampleApp.main(profile: .notes)`.
public enum SampleApp {
    /// Parses the command line, starts the validator and the server, and runs until SIGINT/SIGTERM.
    public static func main(profile: AppProfile) async {
        let options = SampleAppOptions.parseOrExit()
        let settings: SampleAppSettings
        do {
            settings = try SampleAppSettings(profile: profile, options: options)
        } catch {
            FileHandle.standardError.write(Data("hallpass-\(profile.name): \(error)\n".utf8))
            // EX_USAGE, as ArgumentParser exits for a bad flag: the servers' usage-error status.
            exit(64)
        }
        var logger = Logger(label: "hallpass.\(profile.name)")
        logger.logLevel = Logger.Level(rawValue: settings.logLevel) ?? .info
        do {
            let app = try await application(settings: settings, logger: logger)
            try await app.runService()
        } catch {
            logger.critical("hallpass-\(profile.name) stopped: \(error)")
            exit(1)
        }
    }

    /// The application for `settings`: waits (up to `hubTimeout`) for the hub's discovery
    /// document, builds the validator against the hub's issuer, and returns the server with the
    /// validator as a service.
    public static func application(
        settings: SampleAppSettings, logger: Logger, hubTimeout: Duration = .seconds(60),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> some ApplicationProtocol {
        let relyingParty = RelyingParty(settings: settings, logger: logger)
        let metadata = try await relyingParty.waitForHub(timeout: hubTimeout)
        var validatorConfiguration = HallpassValidator.Configuration(
            issuer: metadata.issuer, audience: settings.clientID, redisURL: settings.redisURL)
        validatorConfiguration.redisCAFile = settings.redisCAFile
        validatorConfiguration.redisCertificateFile = settings.redisCertificateFile
        validatorConfiguration.redisKeyFile = settings.redisKeyFile
        validatorConfiguration.redisSentinelPassword = settings.redisSentinelPassword
        let validator = try HallpassValidator(configuration: validatorConfiguration, logger: logger)
        let handlers = Handlers(
            settings: settings, relyingParty: relyingParty, validator: validator, sessions: SessionStore(),
            pages: Pages(settings: settings, issuer: metadata.issuer),
            logger: logger)
        let router = Router(context: HallpassRequestContext.self)
        handlers.register(on: router)
        logger.info("hallpass-\(settings.profile.name) listens on \(settings.host):\(settings.port), public URL \(settings.publicURL)")
        return Application(
            router: router,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "hallpass-\(settings.profile.name)"),
            services: [validator],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? settings.port) },
            logger: logger)
    }
}

/// The routes.
struct Handlers: Sendable {
    let settings: SampleAppSettings
    let relyingParty: RelyingParty
    let validator: HallpassValidator
    let sessions: SessionStore
    let pages: Pages
    let logger: Logger

    var sessionCookie: String { "hallpass_\(settings.profile.name)_session" }
    var loginCookie: String { "hallpass_\(settings.profile.name)_login" }
    var secureCookies: Bool { settings.publicURL.hasPrefix("https://") }
    /// What `/invoices` and `/api/invoices` demand: a second factor within the last 10 minutes
    /// (RFC 9470), so that a long single-sign-on session does not open them by itself.
    static let invoicesRequirement = AuthenticationRequirement.secondFactor(maxAge: .seconds(600))

    func register(on router: Router<HallpassRequestContext>) {
        router.get("/") { request, _ in try await home(request, notice: nil) }
        router.get("/signed-out") { request, _ in try await home(request, notice: "You signed out.") }
        router.get("/login") { request, _ in try await login(request) }
        router.get("/callback") { request, _ in try await callback(request) }
        router.post("/logout") { request, _ in try await logout(request) }
        router.post("/backchannel-logout") { request, _ in try await backchannelLogout(request) }
        router.get("/healthz") { _, _ in
            json(["status": .string("ok"), "validator": .string(validator.status.rawValue)], status: .ok)
        }
        let api = router.group("api")
            .add(middleware: HallpassMiddleware<HallpassRequestContext>(validator: validator, realm: settings.profile.name))
            .get("me") { _, context in try await me(context) }
        if !settings.profile.invoices.isEmpty {
            router.get("/invoices") { request, _ in try await invoices(request) }
            api.group("invoices")
                .add(middleware: HallpassRequirementMiddleware<HallpassRequestContext>(Self.invoicesRequirement, realm: settings.profile.name))
                .get { _, context in try apiInvoices(context) }
        }
    }

    // MARK: Pages

    /// The home page: the signed-in page when the session's access token validates (refreshed
    /// first when it has expired), else the signed-out page.
    func home(_ request: Request, notice: String?) async throws -> Response {
        switch await current(request) {
        case .signedOut(let ended):
            return ended ?? html(pages.signedOut(notice: notice))
        case .active(let session, let identity):
            return html(pages.signedIn(session, identity: identity, now: wallClockSeconds()))
        case .response(let response):
            return response
        }
    }

    /// Where the browser's app session stands.
    enum SessionState: Sendable {
        /// No session; with the page to show when one just ended (else the caller's own).
        case signedOut(Response?)
        /// A session whose access token validates (refreshed first when it had expired).
        case active(AppSession, Identity)
        /// The answer to give as it is (the hub or the validator unavailable).
        case response(Response)
    }

    /// The request's app session and the validated identity of its access token, refreshing
    /// the token first when it has expired.
    func current(_ request: Request) async -> SessionState {
        guard let id = request.cookies[sessionCookie]?.value, !id.isEmpty else { return .signedOut(nil) }
        guard let stored = await sessions.session(id) else {
            if await sessions.wasEnded(id) { return .signedOut(await signedOutEnded(id, "back-channel logout")) }
            return .signedOut(nil)
        }
        var session = stored
        let now = wallClockSeconds()
        var refreshed = false
        if session.accessTokenExpiresAt - now < 5 {
            let outcome = await refresh(session)
            guard case .refreshed(let updated) = outcome else { return .response(await failed(id, outcome)) }
            session = updated
            refreshed = true
        }
        var result = validate(session.accessToken)
        if case .failure(.expired) = result, !refreshed {
            let outcome = await refresh(session)
            guard case .refreshed(let updated) = outcome else { return .response(await failed(id, outcome)) }
            session = updated
            result = validate(session.accessToken)
        }
        switch result {
        case .success(let identity):
            return .active(session, identity)
        case .failure(.stale):
            return .response(
                html(pages.error("Hallpass cannot confirm your session right now; try again in a moment."), status: .serviceUnavailable))
        case .failure(let error):
            return .response(await signedOutEnded(id, "\(error)"))
        }
    }

    /// `GET /invoices`: the invoices page, behind a second factor. Without one in the session's
    /// access token (or with a sign-in older than the requirement's max age), the browser goes
    /// through the hub's authorization endpoint again with `acr_values=mfa` and `max_age`, and
    /// comes back here after the callback. Signed out, that same trip signs the user in.
    func invoices(_ request: Request) async throws -> Response {
        switch await current(request) {
        case .signedOut:
            return try await startLogin(returnPath: "/invoices", requirement: Self.invoicesRequirement)
        case .response(let response):
            return response
        case .active(let session, let identity):
            guard Self.invoicesRequirement.isMet(by: identity) else {
                logger.info("step-up asked of the hub", metadata: ["requirement": "\(Self.invoicesRequirement)"])
                return try await startLogin(returnPath: "/invoices", requirement: Self.invoicesRequirement)
            }
            return html(pages.invoices(session, identity: identity))
        }
    }

    private func validate(_ token: String) -> Result<Identity, Hallpass.ValidationError> {
        do {
            return .success(try validator.validate(token))
        } catch {
            return .failure(error)
        }
    }

    private func failed(_ id: String, _ outcome: RefreshOutcome) async -> Response {
        switch outcome {
        case .refreshed: return redirect("/")
        case .ended(let reason): return await signedOutEnded(id, reason)
        case .unavailable(let reason): return html(pages.error(reason), status: .serviceUnavailable)
        }
    }

    private func signedOutEnded(_ id: String, _ reason: String) async -> Response {
        logger.info("session ended", metadata: ["reason": "\(reason)"])
        await sessions.remove(id)
        var response = html(pages.signedOut(notice: "Your Hallpass session has ended. Sign in again to continue."))
        response.setCookie(expired(sessionCookie))
        return response
    }

    enum RefreshOutcome: Sendable {
        case refreshed(AppSession)
        case ended(String)
        case unavailable(String)
    }

    /// Refreshes the session's access token (the hub rotates the refresh token) and stores the
    /// new tokens.
    private func refresh(_ current: AppSession) async -> RefreshOutcome {
        guard let refreshToken = current.refreshToken else { return .ended("no refresh token") }
        let tokens: TokenResponse
        do {
            tokens = try await relyingParty.refresh(refreshToken)
        } catch {
            if case .refused(let code) = error { return .ended("refresh refused: \(code)") }
            return .unavailable("Hallpass is unreachable right now (\(error)); try again in a moment.")
        }
        var session = current
        session.accessToken = tokens.accessToken
        session.refreshToken = tokens.refreshToken ?? refreshToken
        session.accessTokenExpiresAt = tokens.expiresAt
        session.refreshes += 1
        guard await sessions.update(session) else { return .ended("session ended during refresh") }
        logger.debug("access token refreshed")
        return .refreshed(session)
    }

    // MARK: Login

    /// Starts the authorization code flow: state, nonce and PKCE verifier kept server-side
    /// under a random key the browser holds in a short-lived cookie.
    func login(_ request: Request) async throws -> Response {
        try await startLogin(returnPath: "/", requirement: nil)
    }

    /// Sends the browser to the hub's authorization endpoint; with a `requirement`, asks for it
    /// (`acr_values`, `max_age`). `returnPath` is where the callback sends the browser.
    func startLogin(returnPath: String, requirement: AuthenticationRequirement?) async throws -> Response {
        let key = try SessionStore.randomValue()
        let state = try SessionStore.randomValue()
        let nonce = try SessionStore.randomValue()
        let verifier = try SessionStore.randomValue()
        let challenge = Base64URL.encode(Digest.sha256(Array(verifier.utf8)))
        var pending = PendingLogin(state: state, nonce: nonce, codeVerifier: verifier, startedAt: .now)
        pending.returnPath = returnPath
        pending.requirement = requirement
        await sessions.addPending(key, pending)
        let url: String
        do {
            url = try await relyingParty.authorizationURL(
                state: state, nonce: nonce, codeChallenge: challenge, acrValues: requirement?.acr, maxAge: requirement?.maxAgeSeconds)
        } catch {
            return html(pages.error("Hallpass is unreachable right now; try again in a moment."), status: .serviceUnavailable)
        }
        var response = redirect(url)
        response.setCookie(cookie(loginCookie, key, maxAge: 600))
        return response
    }

    /// The redirect back from the hub: checks state, exchanges the code, verifies the ID token,
    /// starts an app session.
    func callback(_ request: Request) async throws -> Response {
        let query = FormEncoding.decode(Array((request.uri.query ?? "").utf8)) ?? [:]
        guard let key = request.cookies[loginCookie]?.value, let pending = await sessions.takePending(key) else {
            return html(pages.error("This sign-in link has expired or was already used. Start again."), status: .badRequest)
        }
        guard let state = query["state"], ConstantTime.equals(Array(state.utf8), Array(pending.state.utf8)) else {
            return html(pages.error("The sign-in answer does not belong to this browser (state mismatch)."), status: .badRequest)
        }
        if let error = query["error"] {
            var response: Response
            if pending.requirement != nil {
                // A step-up the hub did not grant (the user has no second factor, or cancelled):
                // the app session, if any, stays as it was.
                logger.info("step-up refused by the hub", metadata: ["error": "\(error)"])
                let text =
                    error == "access_denied"
                    ? "The second factor was cancelled or refused."
                    : "Hallpass could not confirm a second factor (\(error))."
                response = html(pages.stepUpRefused(text), status: .forbidden)
            } else {
                let text = error == "access_denied" ? "Sign-in was cancelled or refused." : "Hallpass refused the sign-in (\(error))."
                response = html(pages.signedOut(notice: text), status: .ok)
            }
            response.setCookie(expired(loginCookie))
            return response
        }
        guard let code = query["code"], !code.isEmpty else {
            return html(pages.error("The sign-in answer carries no code."), status: .badRequest)
        }
        let tokens: TokenResponse
        let claims: IDTokenClaims
        do {
            tokens = try await relyingParty.exchange(code: code, codeVerifier: pending.codeVerifier)
            guard let idToken = tokens.idToken else { throw RelyingPartyError.invalidIDToken("no ID token") }
            claims = try await relyingParty.verifyIDToken(idToken, nonce: pending.nonce)
        } catch {
            logger.warning("sign-in failed", metadata: ["error": "\(error)"])
            return html(pages.error("Sign-in failed: \(error)"), status: .badGateway)
        }
        if let old = request.cookies[sessionCookie]?.value { await sessions.remove(old) }
        let session = AppSession(
            id: try SessionStore.randomValue(), subject: claims.subject, username: claims.username, name: claims.name,
            hubSessionID: claims.sessionID, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, idToken: tokens.idToken,
            accessTokenExpiresAt: tokens.expiresAt, refreshes: 0, csrfToken: try SessionStore.randomValue())
        await sessions.insert(session)
        logger.info("signed in", metadata: ["sub": "\(claims.subject)", "sid": "\(claims.sessionID ?? "-")"])
        var response = redirect(pending.returnPath)
        if let requirement = pending.requirement, case .success(let identity) = validate(tokens.accessToken),
            let unmet = requirement.unmet(by: identity)
        {
            // The hub signed the user in without what was asked (it ignored acr_values, say):
            // a page, not a redirect back to a route that would ask again in a loop.
            logger.info("step-up not granted", metadata: ["unmet": "\(unmet.description)"])
            response = html(pages.stepUpRefused("Hallpass signed you in without the second factor this page needs."), status: .forbidden)
        }
        response.setCookie(expired(loginCookie))
        response.setCookie(cookie(sessionCookie, session.id, maxAge: nil))
        return response
    }

    // MARK: Logout

    /// Sign-out: ends the app session and sends the browser to the hub's end-session endpoint
    /// (RP-Initiated Logout), which ends the hub session everywhere.
    func logout(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 16 * 1024)
        let form = FormEncoding.decode(body.readableBytesView) ?? [:]
        guard let id = request.cookies[sessionCookie]?.value, let session = await sessions.session(id) else {
            return redirect("/")
        }
        guard let csrf = form["csrf"], ConstantTime.equals(Array(csrf.utf8), Array(session.csrfToken.utf8)) else {
            return html(pages.error("The sign-out form expired; reload the page and try again."), status: .forbidden)
        }
        await sessions.remove(id)
        let logoutState = try SessionStore.randomValue()
        let target = await relyingParty.endSessionURL(idTokenHint: session.idToken, state: logoutState) ?? "/signed-out"
        var response = redirect(target)
        response.setCookie(expired(sessionCookie))
        return response
    }

    /// OIDC Back-Channel Logout 1.0: verifies the logout token and ends every app session of
    /// its `sid` (or of its `sub` when it has no `sid`). 200 when done, 400 when invalid.
    func backchannelLogout(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 64 * 1024)
        guard let form = FormEncoding.decode(body.readableBytesView), let token = form["logout_token"], !token.isEmpty else {
            return json(["error": "invalid_request", "error_description": "logout_token is missing"], status: .badRequest)
        }
        let logout: LogoutTokenVerifier.LogoutToken
        do {
            let issuer = try await relyingParty.metadata().issuer
            let verifier = LogoutTokenVerifier(issuer: issuer, audience: settings.clientID)
            let keys = try await relyingParty.keys()
            let first = Result { () throws(LogoutTokenVerifier.LogoutTokenError) in try verifier.verify(token, keys: keys) }
            if case .failure(.invalidToken("unknown key")) = first {
                logout = try verifier.verify(token, keys: try await relyingParty.keys(refresh: true))
            } else {
                logout = try first.get()
            }
        } catch let error as LogoutTokenVerifier.LogoutTokenError {
            logger.warning("logout token refused", metadata: ["reason": "\(error)"])
            return json(["error": "invalid_request", "error_description": .string(error.description)], status: .badRequest)
        } catch {
            return json(["error": "temporarily_unavailable", "error_description": "the hub's keys are unavailable"], status: .serviceUnavailable)
        }
        var ended = 0
        if let sid = logout.sessionID {
            ended = await sessions.removeAll(hubSessionID: sid)
        } else if let subject = logout.subject {
            ended = await sessions.removeAll(subject: subject)
        }
        logger.info(
            "back-channel logout", metadata: ["sid": "\(logout.sessionID ?? "-")", "sub": "\(logout.subject ?? "-")", "ended": "\(ended)"])
        var response = Response(status: .ok)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    // MARK: API

    /// `GET /api/me`: the identity the middleware validated.
    func me(_ context: HallpassRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        var username: JSONValue = .null
        if let name = identity.username {
            username = .string(name)
        } else if let name = await sessions.username(for: identity.subject) {
            username = .string(name)
        }
        var members: [String: JSONValue] = [
            "sub": .string(identity.subject), "username": username, "sid": .string(identity.sessionID),
            "client_id": .string(identity.clientID), "exp": .number(identity.expiresAt),
            "scope": .string(identity.scopes.joined(separator: " ")), "app": .string(settings.profile.name),
        ]
        // How the user authenticated, when the token says. Tokens minted before the hub sent
        // these lack them, and so does the answer (absent, not null: nothing was claimed).
        if !identity.authenticationMethods.isEmpty { members["amr"] = .array(identity.authenticationMethods.map(JSONValue.string)) }
        if let acr = identity.authenticationContext { members["acr"] = .string(acr) }
        if let authTime = identity.authTime { members["auth_time"] = .integer(authTime) }
        return json(members, status: .ok)
    }

    /// `GET /api/invoices`: the invoices as JSON, for a bearer token whose sign-in had a second
    /// factor within the last 10 minutes (the middleware answers 401 `insufficient_user_authentication` otherwise).
    func apiInvoices(_ context: HallpassRequestContext) throws -> Response {
        let identity = try context.requireIdentity()
        let invoices = settings.profile.invoices.map { invoice -> JSONValue in
            .object([
                "number": .string(invoice.number), "issued": .string(invoice.issued), "item": .string(invoice.item),
                "amount": .string(invoice.amount), "status": .string(invoice.status),
            ])
        }
        return json(["sub": .string(identity.subject), "invoices": .array(invoices)], status: .ok)
    }

    // MARK: Responses

    /// Headers every page carries: no framing, no sniffing, no referrer (the callback URL holds a
    /// code), and a CSP that allows only the inline style.
    static let securityHeaders: [(HTTPField.Name, String)] = [
        ("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
        ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"),
    ].compactMap { name, value in HTTPField.Name(name).map { ($0, value) } }

    private func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        for (name, value) in Self.securityHeaders { headers[name] = value }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private func json(_ members: [String: JSONValue], status: HTTPResponse.Status) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: JSONValue.object(members).serialized)))
    }

    private func redirect(_ location: String) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        return Response(status: .seeOther, headers: headers)
    }

    private func cookie(_ name: String, _ value: String, maxAge: Int?) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
    }

    private func expired(_ name: String) -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
    }
}
