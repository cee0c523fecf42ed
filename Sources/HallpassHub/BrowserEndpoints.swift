import HallpassJOSE
import HallpassStore
import HTTPTypes
import Hummingbird
import Logging

/// A validated authorization request (RFC 6749 section 4.1.1, OIDC Core 3.1.2.1): the client
/// and its checked parameters, which read as members of the request (`authorization.state`).
@dynamicMemberLookup
struct AuthorizationRequest: Sendable {
    let client: ClientRecord
    let parameters: AuthorizationParameters

    subscript<Value>(dynamicMember member: KeyPath<AuthorizationParameters, Value>) -> Value {
        parameters[keyPath: member]
    }

    /// Whether the client asked for a second factor: `acr_values` names
    /// ``AuthenticationMethods/secondFactorLevel``. The hub then demands it even inside a
    /// live single-sign-on session (a step up).
    var demandsSecondFactor: Bool {
        parameters.acrValues?.split(separator: " ").contains(Substring(AuthenticationMethods.secondFactorLevel)) ?? false
    }

    /// Where a sign-in that needed a second step goes on to: this request again, at the
    /// authorization endpoint, where the fresh session gets its code by single sign-on. Without
    /// `prompt` and `max_age`: they asked for the sign-in that has just happened, and asking
    /// again would loop.
    var continuation: String {
        let fields = hiddenFields.filter { $0.0 != "max_age" }
        return Paths.authorization + "?" + fields.map { queryEncode($0.0) + "=" + queryEncode($0.1) }.joined(separator: "&")
    }

    /// The fields the login form carries back to the hub, so its `POST` re-validates the
    /// same request.
    var hiddenFields: [(String, String)] {
        var fields = parameters.formFields
        fields.insert(("client_id", client.id), at: 1)
        return fields
    }

    /// Whether the user must enter the password whatever the hub cookie says: `prompt=login`,
    /// or `max_age=0` (OIDC Core: "equivalent to prompt=login").
    var requiresLoginForm: Bool { parameters.prompt.contains("login") || parameters.maxAge == 0 }

    /// Whether `session`'s authentication is recent enough for `max_age`. One exactly
    /// `max_age` seconds old is not: auth times are whole seconds, so it may be up to a second
    /// older.
    func isRecentEnough(_ session: BrowserSession, now: Int64) -> Bool {
        guard let maxAge = parameters.maxAge else { return true }
        return now - session.authTime < maxAge
    }
}

/// How a browser request fails: at the hub (a page, never a redirect: the client or its
/// redirect URI cannot be trusted) or back at the client (RFC 6749 section 4.1.2.1).
enum BrowserError: Error {
    case page(HTTPResponse.Status, title: String, message: String)
    case redirect(uri: String, error: String, description: String, state: String?)
}

/// The browser side of the hub: `authorization_endpoint`, the login form, and the browser
/// form of `end_session_endpoint`.
struct BrowserEndpoints: Sendable {
    let services: HubServices
    let cookies: HubCookies

    init(services: HubServices) {
        self.services = services
        self.cookies = HubCookies(issuer: services.configuration.issuer)
    }

    static let loginPath = "/oauth2/login"

    // MARK: authorization endpoint

    /// `GET` or `POST /oauth2/authorize`: a live hub cookie gets a code at once (single
    /// sign-on); otherwise the login form.
    func authorize(_ request: Request, context: HubRequestContext) async throws -> Response {
        await browser(request) {
            let parameters = try await self.parameters(request)
            let authorization = try await self.validate(parameters)
            var live: BrowserSession?
            if !authorization.requiresLoginForm, let cookie = presentedCookie(request) {
                live = try await services.store.browserSession(cookie).flatMap {
                    authorization.isRecentEnough($0, now: services.now) ? $0 : nil
                }
            }
            if let live {
                // A live session that is not strong enough for this request (acr_values, or a
                // policy that requires a second factor) steps up first.
                if let user = try await services.store.user(id: live.userID), !user.isDisabled,
                    !live.methods.includesSecondFactor
                {
                    let gate = SignInGate(services: services, browser: self)
                    let required = try await services.requiresSecondFactor(user)
                    if authorization.prompt.contains("none"), authorization.demandsSecondFactor || required {
                        throw BrowserError.redirect(
                            uri: authorization.redirectURI, error: "interaction_required",
                            description: "a second factor is required", state: authorization.state)
                    }
                    if let page = try await gate.secondStep(
                        for: user, demanded: authorization.demandsSecondFactor, continuation: authorization.continuation,
                        request: request, stepUp: true)
                    {
                        return page
                    }
                }
                if let response = try await issueCode(authorization, session: live, headers: []) {
                    services.metrics.login("sso")
                    return response
                }
            }
            if authorization.prompt.contains("none") {
                throw BrowserError.redirect(
                    uri: authorization.redirectURI, error: "login_required", description: "the user is not signed in at the hub",
                    state: authorization.state)
            }
            return loginForm(authorization, request: request, status: .ok, error: nil)
        }
    }

    /// `POST /oauth2/login`: the login form's submission.
    func login(_ request: Request, context: HubRequestContext) async throws -> Response {
        await browser(request) {
            let form = try await self.form(request)
            let authorization = try await self.validate(form)
            let username = form["username"] ?? ""
            guard cookies.isValidCSRF(form["csrf"], in: request) else {
                return loginForm(
                    authorization, request: request, status: .forbidden, username: username, freshToken: true,
                    error: "This sign-in form expired or did not come from this site. Please sign in again.")
            }
            guard !username.isEmpty, let password = form["password"] else {
                return loginForm(authorization, request: request, status: .badRequest, username: username, error: "Enter your username and password.")
            }
            let address = context.clientAddress
            let user: UserRecord
            switch try await services.authenticateUser(
                username: username, password: password, clientID: authorization.client.id, address: address)
            {
            case .verified(let verified):
                user = verified
            case .badCredentials:
                return loginForm(
                    authorization, request: request, status: .unauthorized, username: username, error: "Incorrect username or password.")
            case .throttled(let seconds):
                return loginForm(
                    authorization, request: request, status: .tooManyRequests, username: username,
                    error: "Too many failed sign-in attempts. Try again in \(seconds) seconds.",
                    extra: [HTTPField(name: .retryAfter, value: String(seconds))])
            }
            if let secondStep = try await SignInGate(services: services, browser: self).secondStep(
                for: user, demanded: authorization.demandsSecondFactor, continuation: authorization.continuation, request: request)
            {
                return secondStep
            }
            guard let started = try await signIn(user, request: request, address: address) else {
                return loginForm(
                    authorization, request: request, status: .unauthorized, username: username, error: "Incorrect username or password.")
            }
            // Signed in, by a new session or the same one again: set its cookie, send the code.
            let headers = [cookies.set(cookies.session, started.cookie.encoded), cookies.set(cookies.csrf, "", maxAge: 0)]
            if let response = try await issueCode(authorization, session: started.session, headers: headers) { return response }
            throw BrowserError.page(.conflict, title: "Session ended", message: "Your session ended while signing in. Please try again.")
        }
    }

    /// The hub session of `user`, whose password was just verified, as every sign-in form
    /// makes it (the login form, the device page): the browser's own session again when it is
    /// this user's (prompt=login, max_age: the same session, authenticated now), else a new
    /// one under the single-login policy. `nil` for a user deleted meanwhile; a disabled user
    /// or a `deny-new` refusal is a page.
    func signIn(
        _ user: UserRecord, request: Request, address: String, methods: AuthenticationMethods = .password
    ) async throws -> (session: BrowserSession, cookie: BrowserSessionCookie)? {
        let disabled = BrowserError.page(.forbidden, title: "Account disabled", message: "This account is disabled. Contact an administrator.")
        if let current = presentedCookie(request) {
            switch try await services.store.reauthenticateBrowserSession(
                current, userID: user.id, actor: address, remoteAddress: address, methods: methods)
            {
            case .reauthenticated(let session, let cookie):
                services.metrics.login("reauthenticated")
                return (session, cookie)
            case .userDisabled:
                services.metrics.login("disabled")
                throw disabled
            case .noSession:
                break
            }
        }
        switch try await services.store.startBrowserSession(
            userID: user.id, timeouts: services.configuration.sessionTimeouts,
            defaultPolicy: try await services.singleLoginPolicy(), actor: address, remoteAddress: address,
            userAgent: UserAgentSummary.describe(request.headers[.userAgent] ?? ""), methods: methods)
        {
        case .started(let session, let cookie, let ended):
            services.metrics.login("success")
            if !ended.isEmpty { services.metrics.revocation("session") }
            return (session, cookie)
        case .sessionExists:
            services.metrics.login("session_exists")
            throw BrowserError.page(
                .conflict, title: "Already signed in elsewhere",
                message: "This account already has an active session, and the single-login policy allows only one. "
                    + "Sign out of the other session first, or ask an administrator to end it.")
        case .userDisabled:
            services.metrics.login("disabled")
            throw disabled
        case .unknownUser:
            return nil
        }
    }

    /// The hub cookie the request carries, if it is shaped like one (whether it names a live
    /// session is the store's to say).
    func presentedCookie(_ request: Request) -> BrowserSessionCookie? {
        HubCookies.value(cookies.session, in: request).flatMap { BrowserSessionCookie(parsing: $0) }
    }

    /// Validates an authorization request. The client and redirect URI are checked first;
    /// until both are known good, every failure is a page at the hub.
    func validate(_ parameters: FormBody) async throws -> AuthorizationRequest {
        guard let clientID = parameters["client_id"] else {
            throw BrowserError.page(.badRequest, title: "Invalid request", message: "The request names no client (client_id is missing).")
        }
        guard let client = try await services.clients.client(id: clientID) else {
            throw BrowserError.page(.badRequest, title: "Unknown application", message: "The application that sent you here is not registered.")
        }
        let registration = AuthorizationParameters.Registration(
            redirectURIs: client.redirectURIs, mayUseAuthorizationCode: client.grantTypes.contains("authorization_code"),
            isConfidential: client.isConfidential)
        do throws(AuthorizationParameters.Failure) {
            return AuthorizationRequest(client: client, parameters: try AuthorizationParameters(parameters, registration: registration))
        } catch {
            switch error {
            case .unregisteredRedirect:
                throw BrowserError.page(
                    .badRequest, title: "Invalid redirect",
                    message: "The application asked to send you back to an address that is not registered for it, so Hallpass will not.")
            case .refused(let uri, let code, let description, let state):
                throw BrowserError.redirect(uri: uri, error: code, description: description, state: state)
            }
        }
    }

    /// A code for `session`, redirected to the client; `nil` if the session ended meanwhile.
    private func issueCode(_ authorization: AuthorizationRequest, session: BrowserSession, headers: [HTTPField]) async throws -> Response? {
        let record = AuthorizationCodeRecord(
            sessionID: session.sessionID, clientID: authorization.client.id, redirectURI: authorization.redirectURI,
            codeChallenge: authorization.codeChallenge ?? "", nonce: authorization.nonce ?? "", scope: authorization.scope,
            authTime: session.authTime, methods: session.methods)
        guard let code = try await services.store.issueAuthorizationCode(record) else { return nil }
        return redirect(
            authorization.redirectURI,
            [("code", code), ("state", authorization.state), ("iss", services.configuration.issuer)], headers: headers)
    }

    private func loginForm(
        _ authorization: AuthorizationRequest, request: Request, status: HTTPResponse.Status, username: String = "",
        freshToken: Bool = false, error: String?, extra: [HTTPField] = []
    ) -> Response {
        let csrf = cookies.csrfToken(in: request, fresh: freshToken)
        return Page.login(
            status, action: Self.loginPath, clientID: authorization.client.id,
            hidden: authorization.hiddenFields + [("csrf", csrf.token)], error: error, username: username,
            headers: extra + [csrf.setCookie].compactMap { $0 })
    }

    // MARK: end session (browser form)

    /// OIDC RP-Initiated Logout 1.0 for browsers: ends the session named by `id_token_hint`
    /// (or the hub cookie), clears the cookie, and returns to a registered
    /// `post_logout_redirect_uri` or shows a signed-out page.
    func endSession(_ request: Request, parameters: FormBody) async -> Response {
        await browser(request) {
            var hintSession: String?
            var hintAudience: [String] = []
            var hintUser = ""
            if let hint = parameters["id_token_hint"] {
                guard let claims = verifyHint(hint) else {
                    throw BrowserError.page(.badRequest, title: "Invalid sign-out request", message: "The sign-out request carries an invalid ID token.")
                }
                hintSession = claims["sid"]?.stringValue
                hintAudience = claims.audience
                hintUser = claims.subject ?? ""
            }
            var client: ClientRecord?
            if let clientID = parameters["client_id"] {
                guard hintAudience.isEmpty || hintAudience.contains(clientID),
                    let found = try await services.clients.client(id: clientID)
                else {
                    throw BrowserError.page(.badRequest, title: "Invalid sign-out request", message: "The sign-out request names an unknown application.")
                }
                client = found
            } else if let audience = hintAudience.first {
                client = try await services.clients.client(id: audience)
            }
            let target = parameters["post_logout_redirect_uri"]
            if let target {
                guard let client, RedirectURI.isRegistered(target, in: client.postLogoutRedirectURIs) else {
                    throw BrowserError.page(
                        .badRequest, title: "Invalid sign-out redirect",
                        message: "The application asked to send you to an address that is not registered for it, so Hallpass will not. "
                            + "You have not been signed out.")
                }
            }
            var sessionID = hintSession
            if sessionID == nil, let cookie = presentedCookie(request),
                let live = try await services.store.browserSession(cookie)
            {
                // A GET without a hint may come from any site (a link or an image), and a
                // `SameSite=Lax` cookie goes along with it: ask before ending the session. The
                // confirmation POSTs back here, and a cross-site POST carries no Lax cookie.
                if request.method == .get {
                    var hidden: [(String, String)] = []
                    for name in ["client_id", "post_logout_redirect_uri", "state"] {
                        if let value = parameters[name] { hidden.append((name, value)) }
                    }
                    return Page.confirmLogout(action: Paths.endSession, hidden: hidden)
                }
                sessionID = live.sessionID
                hintUser = live.userID
            }
            if let sessionID, try await services.store.endSession(sessionID, reason: "logout", actor: "user:" + hintUser) != nil {
                services.metrics.revocation("session")
            }
            let clear = [cookies.set(cookies.session, "", maxAge: 0)]
            if let target {
                var query: [(String, String)] = []
                if let state = parameters["state"] { query.append(("state", state)) }
                return redirect(target, query, headers: clear)
            }
            return Page.message(.ok, title: "Signed out", message: "You are signed out of every application that uses this hub.", headers: clear)
        }
    }

    /// The claims of an ID token this hub signed, expired or not (a hint may be old).
    private func verifyHint(_ token: String) -> JWTClaims? {
        guard let snapshot = services.keyRing.snapshot, token.utf8.count <= 8192 else { return nil }
        var rules = JWTValidator.Configuration(issuer: services.configuration.issuer, audience: "", requiredType: "JWT")
        rules.checksAudience = false
        let validator = JWTValidator(configuration: rules, keys: snapshot.keys.verificationKeys)
        // Expired hints are accepted: validate as of the token's own issue time, read from
        // the payload; the signature, issuer and type are checked all the same.
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = try? Base64URL.decode(parts[1]), let json = try? JSONParser.parse(payload),
            let iat = json.objectValue?["iat"]?.numericValue
        else { return nil }
        return try? validator.validate(token, now: iat).claims
    }

    // MARK: plumbing

    /// Runs a browser handler: browser errors become pages or redirects; a malformed request
    /// or an unreachable store becomes a page, never JSON.
    func browser(_ request: Request, _ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let error as BrowserError {
            switch error {
            case .page(let status, let title, let message):
                return Page.message(status, title: title, message: message)
            case .redirect(let uri, let code, let description, let state):
                var query = [("error", code), ("error_description", description)]
                if let state { query.append(("state", state)) }
                query.append(("iss", services.configuration.issuer))
                return redirect(uri, query)
            }
        } catch let error as OAuthError {
            return Page.message(error.status.code >= 500 ? error.status : .badRequest, title: "Invalid request", message: error.description)
        } catch let error as any HTTPResponseError where error.status.code < 500 {
            // Hummingbird's own refusals, such as a body over the limit (413): a page, not a 500.
            return Page.message(error.status, title: "Invalid request", message: "The request is malformed or too large.")
        } catch let error as StoreError where error.isTemporary {
            return Page.message(
                .serviceUnavailable, title: "Temporarily unavailable", message: "The sign-in service is briefly unavailable. Please retry.",
                headers: [HTTPField(name: .retryAfter, value: "1")])
        } catch {
            services.logger.error("browser request failed", metadata: ["path": "\(request.uri.path)", "error": "\(type(of: error))"])
            return Page.message(.internalServerError, title: "Error", message: "The hub could not complete the request.")
        }
    }

    /// The query (GET) or form body (POST) of an authorization or end-session request.
    func parameters(_ request: Request) async throws -> FormBody {
        if request.method == .post { return try await form(request) }
        return try Self.query(request)
    }

    static func query(_ request: Request) throws -> FormBody {
        let query = request.uri.query ?? ""
        guard query.utf8.count <= 16 * 1024 else {
            throw BrowserError.page(.badRequest, title: "Invalid request", message: "The request is too long.")
        }
        do {
            return try FormBody(parsing: Array(query.utf8))
        } catch {
            throw BrowserError.page(.badRequest, title: "Invalid request", message: "The request's parameters are malformed or repeated.")
        }
    }

    func form(_ request: Request) async throws -> FormBody {
        do {
            return try await request.form(limit: services.configuration.maximumBodySize)
        } catch let error as OAuthError {
            throw BrowserError.page(error.status.code == 413 ? .contentTooLarge : .badRequest, title: "Invalid request", message: error.description)
        }
    }

    private func redirect(_ uri: String, _ query: [(String, String)], headers: [HTTPField] = []) -> Response {
        let separator = uri.contains("?") ? "&" : "?"
        let location = uri + separator + query.map { queryEncode($0.0) + "=" + queryEncode($0.1) }.joined(separator: "&")
        var fields = HTTPFields()
        fields[.location] = location
        fields[.cacheControl] = "no-store"
        fields[Page.referrerPolicy] = "no-referrer"
        for header in headers { fields.append(header) }
        return Response(status: .found, headers: fields)
    }
}
