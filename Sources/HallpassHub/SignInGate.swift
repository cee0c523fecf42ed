import HallpassStore
import HTTPTypes
import Hummingbird

/// The second step of a sign-in: after the password (or, for a step up, inside a live
/// session), a user with a second factor enters a code, and a user who must have one and has
/// none sets it up first. Every sign-in form of the hub goes through here: the login form, the
/// account page's, the device page's, and the step up an `acr_values` request demands.
///
/// Between the two steps, a pending sign-in in Redis (see ``HallpassStore/startPendingSignIn(_:)``)
/// holds the user and the continuation: the hub URL the browser goes to once signed in,
/// where the original request then goes on with the new session (an authorization request
/// issues its code by single sign-on). The browser holds only the pending sign-in's token,
/// in a hidden field next to the CSRF token.
struct SignInGate: Sendable {
    let services: HubServices
    let browser: BrowserEndpoints

    static let codePath = "/oauth2/login/otp"
    static let enrollmentPath = "/oauth2/login/enroll"

    private var cookies: HubCookies { browser.cookies }

    /// The page of the second step when `user` needs one: after a password, when they have a
    /// second factor, the request `demanded` one, or a policy requires it; in a live session
    /// signed in with a password alone (`stepUp`), only when demanded or required. `nil` when
    /// the sign-in may complete (or the session go on) without one.
    func secondStep(
        for user: UserRecord, demanded: Bool, continuation: String, request: Request, stepUp: Bool = false
    ) async throws -> Response? {
        let required = try await services.requiresSecondFactor(user)
        guard (user.hasSecondFactor && !stepUp) || demanded || required else { return nil }
        let token = try await services.store.startPendingSignIn(PendingSignIn(userID: user.id, continuation: continuation))
        return try await challenge(user, pending: token, request: request, status: .ok, error: nil)
    }

    /// The code form for a user with a second factor, the set-up for one without.
    private func challenge(
        _ user: UserRecord, pending: String, request: Request, status: HTTPResponse.Status, error: String?, extra: [HTTPField] = []
    ) async throws -> Response {
        let csrf = cookies.csrfToken(in: request)
        let hidden = [("pending", pending), ("csrf", csrf.token)]
        let headers = extra + [csrf.setCookie].compactMap { $0 }
        if user.hasSecondFactor {
            return Page.secondFactor(status, action: Self.codePath, hidden: hidden, error: error, headers: headers)
        }
        let current = try await services.currentEnrollment(user)
        let offer = if let current { current } else { try await services.offerEnrollment(user) }
        return Page.enrollment(
            status, action: Self.enrollmentPath, hidden: hidden, offer: offer, error: error,
            intro: "Your account needs a second factor before you can sign in.", headers: headers)
    }

    /// `POST /oauth2/login/otp`: the code of a user with a second factor.
    func submitCode(_ request: Request, context: HubRequestContext) async throws -> Response {
        await browser.browser(request) {
            let (form, token, pending, user) = try await self.pendingForm(request)
            let address = context.clientAddress
            switch try await services.checkSecondFactor(user, code: form["otp"] ?? "", clientID: "", address: address) {
            case .accepted:
                return try await complete(token, pending, user, request: request, address: address) { cookie in
                    redirect(pending.continuation, headers: [cookie])
                }
            case .wrong:
                return try await challenge(user, pending: token, request: request, status: .unauthorized, error: "That code is not right. Try the current one.")
            case .throttled(let seconds):
                return try await challenge(
                    user, pending: token, request: request, status: .tooManyRequests,
                    error: "Too many failed attempts. Try again in \(seconds) seconds.", extra: [Page.retryAfter(seconds)])
            }
        }
    }

    /// `POST /oauth2/login/enroll`: the code that confirms a second factor set up while
    /// signing in; then the recovery codes, once, and on to the continuation.
    func confirmEnrollment(_ request: Request, context: HubRequestContext) async throws -> Response {
        await browser.browser(request) {
            let (form, token, pending, user) = try await self.pendingForm(request)
            let address = context.clientAddress
            switch try await services.confirmEnrollment(user, code: form["otp"] ?? "", address: address) {
            case .enrolled(let codes):
                services.metrics.login("mfa_enrolled")
                return try await complete(token, pending, user, request: request, address: address) { cookie in
                    Page.recoveryCodes(codes, next: pending.continuation, nextLabel: "Continue", headers: [cookie])
                }
            case .wrong:
                return try await challenge(user, pending: token, request: request, status: .unauthorized, error: "That code is not right. Check the clock of your device and try the current code.")
            case .expired:
                return try await challenge(user, pending: token, request: request, status: .conflict, error: "The set-up expired. Scan this new code.")
            case .throttled(let seconds):
                return try await challenge(
                    user, pending: token, request: request, status: .tooManyRequests,
                    error: "Too many failed attempts. Try again in \(seconds) seconds.", extra: [Page.retryAfter(seconds)])
            }
        }
    }

    /// A POST of the second step: CSRF first, then the pending sign-in it names and its user.
    private func pendingForm(_ request: Request) async throws -> (FormBody, String, PendingSignIn, UserRecord) {
        let form = try await browser.form(request)
        let expired = BrowserError.page(.forbidden, title: "Sign-in expired", message: "This sign-in expired or did not come from this site. Please sign in again.")
        guard cookies.isValidCSRF(form["csrf"], in: request), let token = form["pending"],
            let pending = try await services.store.pendingSignIn(token)
        else { throw expired }
        guard let user = try await services.store.user(id: pending.userID) else { throw expired }
        if user.isDisabled {
            throw BrowserError.page(.forbidden, title: "Account disabled", message: "This account is disabled. Contact an administrator.")
        }
        return (form, token, pending, user)
    }

    /// Ends the pending sign-in (once: a second submission of the same code finds it gone)
    /// and signs the user in with both factors.
    private func complete(
        _ token: String, _ pending: PendingSignIn, _ user: UserRecord, request: Request, address: String,
        _ respond: (HTTPField) -> Response
    ) async throws -> Response {
        guard try await services.store.finishPendingSignIn(token) else {
            throw BrowserError.page(.conflict, title: "Already signed in", message: "This sign-in was already completed. Please start again.")
        }
        guard let started = try await browser.signIn(user, request: request, address: address, methods: .passwordAndOneTimeCode) else {
            throw BrowserError.page(.forbidden, title: "Sign-in failed", message: "This account no longer exists.")
        }
        return respond(cookies.set(cookies.session, started.cookie.encoded))
    }

    /// A `303 See Other` to a hub URL (continuations are the hub's own paths).
    private func redirect(_ location: String, headers: [HTTPField]) -> Response {
        var fields = HTTPFields()
        fields[.location] = location.hasPrefix("/") && !location.hasPrefix("//") ? location : "/account"
        fields[.cacheControl] = "no-store"
        for header in headers { fields.append(header) }
        return Response(status: .seeOther, headers: fields)
    }
}
