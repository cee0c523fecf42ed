import HallpassStore
import HTTPTypes
import Hummingbird

/// The signed-in user's own page at the hub (`GET /account`, CONTRACT section 9): their live
/// sessions, with the current one marked, to end one or all others; the password; the second
/// factor (set up, turn off, new recovery codes).
///
/// It shares the hub's session cookie: a browser signed in for any app is signed in here. Every
/// action is a `POST` with the CSRF token of the hub's forms, answered by a redirect back to the
/// page with a notice (post/redirect/get), or by the page again with an error. Ending a session
/// here is the same as `hallpass sessions revoke`: the store's end-of-session script queues the
/// back-channel logouts to every app of it and records the revocation the validators read.
struct AccountEndpoints: Sendable {
    let services: HubServices
    let browser: BrowserEndpoints

    static let path = "/account"
    static let signInPath = "/account/login"
    static let sessionsPath = "/account/sessions"
    static let passwordPath = "/account/password"
    static let setUpPath = "/account/mfa/setup"
    static let confirmPath = "/account/mfa/confirm"
    static let turnOffPath = "/account/mfa/disable"
    static let recoveryCodesPath = "/account/mfa/recovery-codes"

    private var cookies: HubCookies { browser.cookies }
    private var gate: SignInGate { SignInGate(services: services, browser: browser) }

    /// The page's notices, named in the redirect's query so that a reload shows no form again.
    private static let notices: [String: String] = [
        "ended": "The session was ended. Its apps were told to sign out.",
        "others": "Every other session was ended. Their apps were told to sign out.",
        "password": "Your password was changed.",
        "password-others": "Your password was changed and your other sessions were ended.",
        "mfa-off": "Two-step verification is off.",
    ]

    /// `GET /account`: the page, or the sign-in form when no hub session is live.
    func show(_ request: Request, context: HubRequestContext) async throws -> Response {
        await browser.browser(request) {
            guard let (session, user) = try await signedIn(request) else { return signInForm(request, status: .ok, username: "", error: nil) }
            let notice = try BrowserEndpoints.query(request)["done"].flatMap { Self.notices[$0] }
            return try await page(session, user, request: request, status: .ok, notice: notice, error: nil)
        }
    }

    /// `POST /account/login`: the sign-in form of the account page.
    func signIn(_ request: Request, context: HubRequestContext) async throws -> Response {
        await browser.browser(request) {
            let form = try await browser.form(request)
            let username = form["username"] ?? ""
            guard cookies.isValidCSRF(form["csrf"], in: request) else {
                return signInForm(request, status: .forbidden, username: username, error: "This form expired. Please sign in again.", fresh: true)
            }
            guard !username.isEmpty, let password = form["password"] else {
                return signInForm(request, status: .badRequest, username: username, error: "Enter your username and password.")
            }
            let address = context.clientAddress
            let user: UserRecord
            switch try await services.authenticateUser(username: username, password: password, clientID: "", address: address) {
            case .verified(let verified): user = verified
            case .badCredentials: return signInForm(request, status: .unauthorized, username: username, error: "Incorrect username or password.")
            case .throttled(let seconds):
                return signInForm(
                    request, status: .tooManyRequests, username: username, error: "Too many failed sign-in attempts. Try again in \(seconds) seconds.",
                    extra: [Page.retryAfter(seconds)])
            }
            if let secondStep = try await gate.secondStep(for: user, demanded: false, continuation: Self.path, request: request) {
                return secondStep
            }
            guard let started = try await browser.signIn(user, request: request, address: address) else {
                return signInForm(request, status: .unauthorized, username: username, error: "Incorrect username or password.")
            }
            return seeOther(Self.path, headers: [cookies.set(cookies.session, started.cookie.encoded)])
        }
    }

    /// `POST /account/sessions`: `end` is a session id of this user, or `others`.
    func endSessions(_ request: Request, context: HubRequestContext) async throws -> Response {
        await action(request) { form, session, user in
            let actor = "user:" + user.id
            let live = try await services.store.sessions(ofUser: user.id)
            switch form["end"] {
            case "others":
                for other in live where other.id != session.sessionID {
                    if try await services.store.endSession(other.id, reason: "logout", actor: actor) != nil { services.metrics.revocation("session") }
                }
                return seeOther(Self.path + "?done=others")
            case let target? where live.contains(where: { $0.id == target }):
                if try await services.store.endSession(target, reason: "logout", actor: actor) != nil { services.metrics.revocation("session") }
                if target == session.sessionID {
                    return Page.message(
                        .ok, title: "Signed out", message: "You ended this session: you are signed out of every application that used it.",
                        headers: [cookies.set(cookies.session, "", maxAge: 0)])
                }
                return seeOther(Self.path + "?done=ended")
            default:
                // Another user's session, an ended one, or garbage: nothing to end here.
                return try await page(session, user, request: request, status: .notFound, notice: nil, error: "There is no such session of yours.")
            }
        }
    }

    /// `POST /account/password`: `current_password` and `new_password`; other sessions end
    /// unless `end_others` is unticked (the form sends `keep_others`).
    func changePassword(_ request: Request, context: HubRequestContext) async throws -> Response {
        await action(request) { form, session, user in
            let current = form["current_password"] ?? ""
            let new = form["new_password"] ?? ""
            guard (8...1024).contains(new.utf8.count) else {
                return try await page(session, user, request: request, status: .badRequest, notice: nil, error: "The new password must have 8 to 1024 characters.")
            }
            switch try await services.authenticateUser(
                username: user.username, password: current, clientID: "", address: context.clientAddress, secondFactorFollows: false)
            {
            case .verified(let verified) where verified.id == user.id: break
            case .throttled(let seconds):
                return try await page(session, user, request: request, status: .tooManyRequests, notice: nil, error: "Too many failed attempts. Try again in \(seconds) seconds.",
                extra: [Page.retryAfter(seconds)])
            default:
                return try await page(session, user, request: request, status: .unauthorized, notice: nil, error: "The current password is not right.")
            }
            let hash = try await services.passwords.hash(new)
            let actor = "user:" + user.id
            try await services.store.setPasswordHash(userID: user.id, passwordHash: hash, actor: actor)
            guard form["end_others"] == "1" else { return seeOther(Self.path + "?done=password") }
            for other in try await services.store.sessions(ofUser: user.id) where other.id != session.sessionID {
                if try await services.store.endSession(other.id, reason: "password_changed", actor: actor) != nil { services.metrics.revocation("session") }
            }
            return seeOther(Self.path + "?done=password-others")
        }
    }

    /// `POST /account/mfa/setup`: a new secret to set up (replacing one in progress).
    func setUp(_ request: Request, context: HubRequestContext) async throws -> Response {
        await action(request) { _, session, user in
            guard !user.hasSecondFactor else {
                return try await page(session, user, request: request, status: .conflict, notice: nil, error: "Two-step verification is already on. Turn it off first to set up a new app.")
            }
            return try await enrollment(user, request: request, status: .ok, error: nil, offer: try await services.offerEnrollment(user))
        }
    }

    /// `POST /account/mfa/confirm`: the code (`otp`) that turns the second factor on; then the
    /// recovery codes, once.
    func confirm(_ request: Request, context: HubRequestContext) async throws -> Response {
        await action(request) { form, session, user in
            guard !user.hasSecondFactor else { return seeOther(Self.path) }
            switch try await services.confirmEnrollment(user, code: form["otp"] ?? "", address: context.clientAddress) {
            case .enrolled(let codes):
                return Page.recoveryCodes(codes, next: Self.path, nextLabel: "Back to your account", headers: [])
            case .wrong:
                guard let offer = try await services.currentEnrollment(user) else { return seeOther(Self.path) }
                return try await enrollment(user, request: request, status: .unauthorized, error: "That code is not right. Try the current one.", offer: offer)
            case .expired:
                return try await page(session, user, request: request, status: .conflict, notice: nil, error: "The set-up expired. Start again.")
            case .throttled(let seconds):
                return try await page(session, user, request: request, status: .tooManyRequests, notice: nil, error: "Too many failed attempts. Try again in \(seconds) seconds.",
                extra: [Page.retryAfter(seconds)])
            }
        }
    }

    /// `POST /account/mfa/disable`: turns the second factor off; a current code (`otp`) proves
    /// the authenticator is at hand, so a borrowed browser alone cannot remove it.
    func turnOff(_ request: Request, context: HubRequestContext) async throws -> Response {
        await action(request) { form, session, user in
            guard user.hasSecondFactor else { return seeOther(Self.path) }
            if let refused = try await checkCode(form, session, user, request: request, address: context.clientAddress) { return refused }
            try await services.store.removeSecondFactor(userID: user.id, event: "mfa_disabled", actor: "user:" + user.id)
            return seeOther(Self.path + "?done=mfa-off")
        }
    }

    /// `POST /account/mfa/recovery-codes`: ten new recovery codes (the old ones stop working),
    /// after a current code (`otp`).
    func regenerateRecoveryCodes(_ request: Request, context: HubRequestContext) async throws -> Response {
        await action(request) { form, session, user in
            guard user.hasSecondFactor else { return seeOther(Self.path) }
            if let refused = try await checkCode(form, session, user, request: request, address: context.clientAddress) { return refused }
            guard let codes = try await services.regenerateRecoveryCodes(user, actor: "user:" + user.id) else { return seeOther(Self.path) }
            return Page.recoveryCodes(codes, next: Self.path, nextLabel: "Back to your account", headers: [])
        }
    }

    // MARK: plumbing

    /// The live hub session of the request and its user.
    private func signedIn(_ request: Request) async throws -> (BrowserSession, UserRecord)? {
        guard let cookie = browser.presentedCookie(request), let session = try await services.store.browserSession(cookie),
            let user = try await services.store.user(id: session.userID), !user.isDisabled
        else { return nil }
        return (session, user)
    }

    /// Runs a `POST` of the page: the CSRF token first, then the live session; nothing changes
    /// without both.
    private func action(
        _ request: Request, _ body: @escaping (FormBody, BrowserSession, UserRecord) async throws -> Response
    ) async -> Response {
        await browser.browser(request) {
            let form = try await browser.form(request)
            guard cookies.isValidCSRF(form["csrf"], in: request) else {
                throw BrowserError.page(.forbidden, title: "Form expired", message: "This form expired or did not come from this site. Nothing was changed. Reload your account page and try again.")
            }
            guard let (session, user) = try await signedIn(request) else {
                throw BrowserError.page(.unauthorized, title: "Signed out", message: "You are not signed in. Nothing was changed.")
            }
            return try await body(form, session, user)
        }
    }

    /// The page again with an error unless `otp` is a right code.
    private func checkCode(_ form: FormBody, _ session: BrowserSession, _ user: UserRecord, request: Request, address: String) async throws -> Response? {
        switch try await services.checkSecondFactor(user, code: form["otp"] ?? "", clientID: "", address: address) {
        case .accepted: return nil
        case .wrong: return try await page(session, user, request: request, status: .unauthorized, notice: nil, error: "That code is not right. Nothing was changed.")
        case .throttled(let seconds):
            return try await page(session, user, request: request, status: .tooManyRequests, notice: nil, error: "Too many failed attempts. Try again in \(seconds) seconds.",
                extra: [Page.retryAfter(seconds)])
        }
    }

    private func page(
        _ session: BrowserSession, _ user: UserRecord, request: Request, status: HTTPResponse.Status, notice: String?, error: String?,
        extra: [HTTPField] = []
    ) async throws -> Response {
        let sessions = try await services.store.sessions(ofUser: user.id)
        let factor = user.hasSecondFactor ? try await services.store.secondFactor(ofUser: user.id) : nil
        let csrf = cookies.csrfToken(in: request)
        return Page.account(
            status, user: user, sessions: sessions, current: session.sessionID, recoveryCodesLeft: factor?.recoveryCodesLeft,
            csrf: csrf.token, notice: notice, error: error, headers: extra + [csrf.setCookie].compactMap { $0 })
    }

    private func enrollment(_ user: UserRecord, request: Request, status: HTTPResponse.Status, error: String?, offer: EnrollmentOffer) async throws -> Response {
        let csrf = cookies.csrfToken(in: request)
        return Page.enrollment(
            status, action: Self.confirmPath, hidden: [("csrf", csrf.token)], offer: offer, error: error,
            intro: "A code from an app on your phone will be asked for after your password.", headers: [csrf.setCookie].compactMap { $0 })
    }

    private func signInForm(
        _ request: Request, status: HTTPResponse.Status, username: String, error: String?, fresh: Bool = false, extra: [HTTPField] = []
    ) -> Response {
        let csrf = cookies.csrfToken(in: request, fresh: fresh)
        return Page.signIn(
            status, action: Self.signInPath, subtitle: "to manage your Hallpass account", hidden: [("csrf", csrf.token)], error: error,
            username: username, headers: extra + [csrf.setCookie].compactMap { $0 })
    }

    private func seeOther(_ location: String, headers: [HTTPField] = []) -> Response {
        var fields = HTTPFields()
        fields[.location] = location
        fields[.cacheControl] = "no-store"
        for header in headers { fields.append(header) }
        return Response(status: .seeOther, headers: fields)
    }
}
