import HallpassStore
import HTTPTypes
import Hummingbird

/// The verification page of the device authorization grant (RFC 8628 section 3.3): the user
/// enters the user code (or arrives with it from `verification_uri_complete`), signs in at the
/// hub unless a hub session is live, sees which client asks for which scopes, and approves or
/// denies.
///
/// Signing in here starts an ordinary hub browser session (the same cookie, throttle and
/// single-login policy as the login form), and approval binds the device to that session: its
/// grant joins it at the token endpoint, so every end of the session ends the device's grant.
/// Every user-code lookup counts against a per-address throttle until the code proves right.
struct DeviceVerificationEndpoints: Sendable {
    let services: HubServices
    let browser: BrowserEndpoints

    static let signInPath = Paths.deviceVerification + "/login"
    static let decisionPath = Paths.deviceVerification + "/decide"

    private var cookies: HubCookies { browser.cookies }

    /// `GET /device[?user_code=...]`.
    func show(_ request: Request, context: HubRequestContext) async throws -> Response {
        await browser.browser(request) {
            let query = try BrowserEndpoints.query(request)
            guard let typed = query["user_code"] else { return codeForm(request, status: .ok, typed: "", error: nil) }
            return try await proceed(typed, request: request, address: context.clientAddress)
        }
    }

    /// `POST /device`: the code form.
    func enterCode(_ request: Request, context: HubRequestContext) async throws -> Response {
        await browser.browser(request) {
            let form = try await browser.form(request)
            guard cookies.isValidCSRF(form["csrf"], in: request) else { return expired(request) }
            return try await proceed(form["user_code"] ?? "", request: request, address: context.clientAddress)
        }
    }

    /// `POST /device/login`: the sign-in form of a user without a hub session.
    func signIn(_ request: Request, context: HubRequestContext) async throws -> Response {
        await browser.browser(request) {
            let form = try await browser.form(request)
            guard cookies.isValidCSRF(form["csrf"], in: request) else { return expired(request) }
            let address = context.clientAddress
            let code: UserCode
            let pending: PendingDeviceAuthorization
            switch try await lookUp(form["user_code"] ?? "", address: address) {
            case .found(let found, let record):
                code = found
                pending = record
            case .wrong: return wrongCode(request)
            case .throttled(let seconds): return throttled(request, seconds: seconds)
            }
            let username = form["username"] ?? ""
            func again(_ status: HTTPResponse.Status, _ error: String, headers: [HTTPField] = []) -> Response {
                signInForm(request, status: status, code: code, pending: pending, username: username, error: error, extra: headers)
            }
            guard !username.isEmpty, let password = form["password"] else {
                return again(.badRequest, "Enter your username and password.")
            }
            let user: UserRecord
            switch try await services.authenticateUser(username: username, password: password, clientID: pending.clientID, address: address) {
            case .verified(let verified): user = verified
            case .badCredentials: return again(.unauthorized, "Incorrect username or password.")
            case .throttled(let seconds):
                return again(
                    .tooManyRequests, "Too many failed sign-in attempts. Try again in \(seconds) seconds.",
                    headers: [HTTPField(name: .retryAfter, value: String(seconds))])
            }
            // A user with a second factor (or required to have one) completes it first, and comes
            // back to this page's confirmation with the code.
            if let secondStep = try await SignInGate(services: services, browser: browser).secondStep(
                for: user, demanded: false, continuation: Paths.deviceVerification + "?user_code=" + queryEncode(code.display), request: request)
            {
                return secondStep
            }
            guard let started = try await browser.signIn(user, request: request, address: address) else {
                return again(.unauthorized, "Incorrect username or password.")
            }
            let cookie = started.cookie
            // Signed in: the session cookie, and a fresh CSRF token for the confirmation form.
            let csrf = cookies.csrfToken(in: request, fresh: true)
            return Page.deviceConfirm(
                action: Self.decisionPath, csrf: csrf.token, userCode: code.display, clientID: pending.clientID, scope: pending.scope,
                username: user.username, headers: [cookies.set(cookies.session, cookie.encoded)] + [csrf.setCookie].compactMap { $0 })
        }
    }

    /// `POST /device/decide`: Approve or Deny.
    func decide(_ request: Request, context: HubRequestContext) async throws -> Response {
        await browser.browser(request) {
            let form = try await browser.form(request)
            guard cookies.isValidCSRF(form["csrf"], in: request) else { return expired(request) }
            let approve: Bool
            switch form["decision"] {
            case "approve": approve = true
            case "deny": approve = false
            default: throw BrowserError.page(.badRequest, title: "Invalid request", message: "Choose Approve or Deny.")
            }
            let address = context.clientAddress
            let code: UserCode
            let pending: PendingDeviceAuthorization
            switch try await lookUp(form["user_code"] ?? "", address: address) {
            case .found(let found, let record):
                code = found
                pending = record
            case .wrong: return wrongCode(request)
            case .throttled(let seconds): return throttled(request, seconds: seconds)
            }
            guard let session = try await liveSession(request) else {
                return signInForm(
                    request, status: .unauthorized, code: code, pending: pending, username: "",
                    error: "Your session at the hub ended. Sign in again to continue.")
            }
            let decision: DeviceDecision = approve ? .approve(session) : .deny(userID: session.userID, sessionID: session.sessionID)
            guard let client = try await services.store.decideDeviceAuthorization(code, decision, actor: "user:" + session.userID) else {
                return wrongCode(request)
            }
            if approve {
                return Page.message(
                    .ok, title: "Device connected",
                    message: "\(client) is signed in as you. You can return to your device. Signing out of the hub also signs it out.")
            }
            return Page.message(.ok, title: "Request denied", message: "\(client) was not given access. You can close this page.")
        }
    }

    // MARK: steps

    /// A code was entered: the sign-in form, or the confirmation for a live session.
    private func proceed(_ typed: String, request: Request, address: String) async throws -> Response {
        switch try await lookUp(typed, address: address) {
        case .found(let code, let pending):
            guard let session = try await liveSession(request) else {
                return signInForm(request, status: .ok, code: code, pending: pending, username: "", error: nil)
            }
            guard let user = try await services.store.user(id: session.userID) else {
                return signInForm(request, status: .ok, code: code, pending: pending, username: "", error: nil)
            }
            let csrf = cookies.csrfToken(in: request)
            return Page.deviceConfirm(
                action: Self.decisionPath, csrf: csrf.token, userCode: code.display, clientID: pending.clientID, scope: pending.scope,
                username: user.username, headers: [csrf.setCookie].compactMap { $0 })
        case .wrong: return wrongCode(request)
        case .throttled(let seconds): return throttled(request, seconds: seconds)
        }
    }

    private enum Lookup {
        case found(UserCode, PendingDeviceAuthorization)
        case wrong
        case throttled(seconds: Int64)
    }

    /// Finds the pending authorization `typed` names. Each lookup is reserved against the
    /// address's throttle first (so parallel guesses cannot all pass the check) and taken back
    /// only when the code is right: wrong and malformed codes alike count.
    private func lookUp(_ typed: String, address: String) async throws -> Lookup {
        let settings = services.configuration.deviceAuthorization
        if let wait = try await services.store.reserveUserCodeAttempt(
            address: address, limit: settings.userCodeAttempts, window: settings.userCodeWindow)
        {
            services.metrics.login("device_code_throttled")
            return .throttled(seconds: (wait + 999) / 1000)
        }
        guard let code = UserCode(parsing: typed), let pending = try await services.store.pendingDeviceAuthorization(code) else {
            return .wrong
        }
        try await services.store.releaseUserCodeAttempt(address: address)
        return .found(code, pending)
    }

    /// The live hub session of the browser, if any.
    private func liveSession(_ request: Request) async throws -> BrowserSession? {
        guard let cookie = browser.presentedCookie(request) else { return nil }
        return try await services.store.browserSession(cookie)
    }

    // MARK: pages

    private func codeForm(
        _ request: Request, status: HTTPResponse.Status, typed: String, error: String?, fresh: Bool = false, extra: [HTTPField] = []
    ) -> Response {
        let csrf = cookies.csrfToken(in: request, fresh: fresh)
        return Page.deviceCode(
            status, action: Paths.deviceVerification, csrf: csrf.token, typed: typed, error: error,
            headers: extra + [csrf.setCookie].compactMap { $0 })
    }

    private func signInForm(
        _ request: Request, status: HTTPResponse.Status, code: UserCode, pending: PendingDeviceAuthorization, username: String,
        error: String?, extra: [HTTPField] = []
    ) -> Response {
        let csrf = cookies.csrfToken(in: request)
        return Page.deviceSignIn(
            status, action: Self.signInPath, csrf: csrf.token, userCode: code.display, clientID: pending.clientID, error: error,
            username: username, headers: extra + [csrf.setCookie].compactMap { $0 })
    }

    private func wrongCode(_ request: Request) -> Response {
        // The typed value is not echoed: it may be a near miss of someone's live code.
        codeForm(request, status: .badRequest, typed: "", error: "That code is not valid or has expired. Check the code on your device.")
    }

    private func throttled(_ request: Request, seconds: Int64) -> Response {
        codeForm(
            request, status: .tooManyRequests, typed: "", error: "Too many wrong codes. Try again in \(seconds) seconds.",
            extra: [HTTPField(name: .retryAfter, value: String(seconds))])
    }

    private func expired(_ request: Request) -> Response {
        codeForm(
            request, status: .forbidden, typed: "", error: "This form expired or did not come from this site. Please enter the code again.",
            fresh: true)
    }
}
