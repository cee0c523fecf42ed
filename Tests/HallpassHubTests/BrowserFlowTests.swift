import AsyncHTTPClient
import Foundation
import HallpassStore
import NIOCore
import HallpassTestSupport
import Testing

@Suite("Browser flow: authorization code + PKCE, hub login page, hub cookie, single sign-on, browser logout")
struct BrowserFlowTests {
    static let appA = "http://127.0.0.1:9/a/callback"
    static let appB = "http://127.0.0.1:9/b/callback"

    @Test("a public client signs in with PKCE: form, code, tokens, ID token with nonce, sid and auth_time; cookie flags")
    func publicClientFlow() async throws {
        try await withHub { hub in
            let user = try await hub.addUser("alice", password: "pw-alice-1", name: "Alice")
            try await hub.addWebClient("spa", confidential: false, redirect: Self.appA)
            let browser = TestBrowser()
            let request = CodeRequest(client: "spa", redirectURI: Self.appA)

            let form = try await browser.request(hub.authorizeURL(request))
            #expect(form.status == 200)
            #expect(form.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(form.text.contains(#"name="username""#) && form.text.contains(#"name="password""#))
            #expect(form.header("X-Frame-Options") == "DENY")
            let csrfCookie = try #require(browser.setCookies.withLock { $0.first { $0.hasPrefix("hallpass_csrf=") } })
            #expect(csrfCookie.contains("HttpOnly") && csrfCookie.contains("SameSite=Lax") && !csrfCookie.contains("Secure"))

            let redirect = try await browser.request(
                hub.baseURL + HubPath.login, method: .POST,
                form: hiddenFields(form.text) + [("username", "alice"), ("password", "pw-alice-1")])
            let code = try hub.code(of: redirect, request)
            let sessionCookie = try #require(redirect.headers.first { $0.0.lowercased() == "set-cookie" && $0.1.hasPrefix("hallpass_session=") }?.1)
            #expect(sessionCookie.contains("HttpOnly") && sessionCookie.contains("SameSite=Lax") && sessionCookie.contains("Path=/"))
            #expect(!sessionCookie.contains("Secure"))
            #expect(code.utf8.count >= 52)

            let tokens = try HubFixture.tokens(try await hub.exchange(code, request, secret: nil), "code exchange", sourceLocation: #_sourceLocation)
            let idToken = try #require(tokens.reply.string("id_token"))
            let claims = try await hub.idTokenClaims(idToken, audience: "spa")
            #expect(claims.subject == user.id)
            #expect(claims["nonce"]?.stringValue == request.nonce)
            #expect(claims["sid"]?.stringValue == tokens.sessionID)
            #expect(claims["auth_time"]?.integerValue != nil)
            #expect(claims["name"]?.stringValue == "Alice")
            let access = try await hub.verifiedClaims(of: tokens.access, audience: "spa")
            #expect(access["sid"]?.stringValue == tokens.sessionID)
            #expect(try await hub.userinfo(bearer: tokens.access).status == 200)
            _ = try await hub.refreshTokens(tokens.refresh, client: "spa", secret: nil)
        }
    }

    @Test("single sign-on: a second client gets a code without the form, and joins the same sid")
    func singleSignOnSharesTheSession() async throws {
        try await withHub { hub in
            let user = try await hub.addUser("bob", password: "pw-bob-1")
            let secretA = try await hub.addWebClient("notes", redirect: Self.appA)
            let secretB = try await hub.addWebClient("tasks", redirect: Self.appB)
            let browser = TestBrowser()
            let first = CodeRequest(client: "notes", redirectURI: Self.appA)
            let a = try await hub.signIn(first, browser: browser, username: "bob", password: "pw-bob-1", secret: secretA)

            // No form: the hub cookie is enough.
            let second = CodeRequest(client: "tasks", redirectURI: Self.appB, verifier: nil)
            let direct = try await browser.request(hub.authorizeURL(second))
            let b = try HubFixture.tokens(
                try await hub.exchange(try hub.code(of: direct, second), second, secret: secretB), "tasks", sourceLocation: #_sourceLocation)
            #expect(a.sessionID == b.sessionID)
            let claimsB = try await hub.idTokenClaims(try #require(b.reply.string("id_token")), audience: "tasks")
            #expect(claimsB["sid"]?.stringValue == a.sessionID)
            let sessions = try await hub.store.sessions(ofUser: user.id)
            #expect(sessions.count == 1)
            #expect(sessions.first?.clients == ["notes", "tasks"])

            // prompt=login forces the form even with a live cookie.
            var forced = CodeRequest(client: "tasks", redirectURI: Self.appB)
            forced.extra = [("prompt", "login")]
            #expect(try await browser.request(hub.authorizeURL(forced)).status == 200)

            // An ended session makes the cookie dead: the form again, and prompt=none is login_required.
            _ = try await hub.store.endSessions(ofUser: user.id, reason: "admin", actor: "test")
            #expect(try await browser.request(hub.authorizeURL(CodeRequest(client: "tasks", redirectURI: Self.appB))).status == 200)
            var silent = CodeRequest(client: "tasks", redirectURI: Self.appB)
            silent.extra = [("prompt", "none")]
            let none = try await browser.request(hub.authorizeURL(silent))
            #expect(none.status == 302)
            #expect(queryItems(none.header("Location") ?? "")["error"] == "login_required")
        }
    }

    @Test("max_age: an authentication as old as max_age needs the form again, max_age=0 always does, prompt=none gets login_required")
    func maxAgeForcesTheFormForOldAuthentications() async throws {
        try await withHub { hub in
            try await hub.addUser("max", password: "pw-max-1")
            let secret = try await hub.addWebClient("notes", redirect: Self.appA)
            let browser = TestBrowser()
            let first = CodeRequest(client: "notes", redirectURI: Self.appA)
            let signedIn = try await hub.signIn(first, browser: browser, username: "max", password: "pw-max-1", secret: secret)

            // Young enough: single sign-on, no form.
            var recent = CodeRequest(client: "notes", redirectURI: Self.appA)
            recent.extra = [("max_age", "3600")]
            let direct = try await browser.request(hub.authorizeURL(recent))
            #expect(direct.status == 302)
            #expect(queryItems(direct.header("Location") ?? "")["code"] != nil)

            // max_age=0 is prompt=login: the form, even a second after signing in.
            var zero = CodeRequest(client: "notes", redirectURI: Self.appA)
            zero.extra = [("max_age", "0")]
            let form = try await browser.request(hub.authorizeURL(zero))
            #expect(form.status == 200)
            #expect(hiddenFields(form.text).contains { $0 == ("max_age", "0") })
            var silent = CodeRequest(client: "notes", redirectURI: Self.appA)
            silent.extra = [("max_age", "0"), ("prompt", "none")]
            let none = try await browser.request(hub.authorizeURL(silent))
            #expect(none.status == 302)
            #expect(queryItems(none.header("Location") ?? "")["error"] == "login_required")

            // Signing in again through that form keeps the session; the ID token says when: no
            // earlier than the POST was sent and no later than now (a fixed tolerance of 2 s
            // failed once in a fresh-clone CI run on a busy machine).
            let resignedFrom = Int64(Date().timeIntervalSince1970)
            let again = try await browser.request(
                hub.baseURL + HubPath.login, method: .POST, form: hiddenFields(form.text) + [("username", "max"), ("password", "pw-max-1")])
            let tokens = try HubFixture.tokens(try await hub.exchange(try hub.code(of: again, zero), zero, secret: secret), "re-sign-in", sourceLocation: #_sourceLocation)
            #expect(tokens.sessionID == signedIn.sessionID)
            let idToken = try #require(tokens.reply.string("id_token"))
            let claims = try await hub.idTokenClaims(idToken, audience: "notes")
            let authTime = try #require(claims["auth_time"]?.integerValue)
            #expect(authTime >= resignedFrom && authTime <= Int64(Date().timeIntervalSince1970))

            // (An empty max_age counts as absent, RFC 6749 section 3.1.)
            for bad in ["-1", "1e3", " 5", "5s", "1234567890"] {
                var malformed = CodeRequest(client: "notes", redirectURI: Self.appA)
                malformed.extra = [("max_age", bad)]
                let reply = try await browser.request(hub.authorizeURL(malformed))
                #expect(reply.status == 302, "max_age=\(bad)")
                #expect(queryItems(reply.header("Location") ?? "")["error"] == "invalid_request", "max_age=\(bad)")
            }
        }
    }

    @Test(
        "signing in again in the same browser (prompt=login) keeps the session under every single-login policy: same sid, new auth_time, new cookie",
        arguments: [SingleLoginPolicy.newestWins, .denyNew, .off])
    func reauthenticationKeepsTheSession(policy: SingleLoginPolicy) async throws {
        try await withHub(configure: { $0.singleLoginPolicy = policy }) { hub in
            let user = try await hub.addUser("rae", password: "pw-rae-1")
            let secret = try await hub.addWebClient("notes", redirect: Self.appA)
            let browser = TestBrowser()
            let first = CodeRequest(client: "notes", redirectURI: Self.appA)
            let before = try await hub.signIn(first, browser: browser, username: "rae", password: "pw-rae-1", secret: secret)
            let firstIDToken = try #require(before.reply.string("id_token"))
            let firstAuthTime = try #require(try await hub.idTokenClaims(firstIDToken, audience: "notes")["auth_time"]?.integerValue)
            let oldCookie = try #require(browser.cookie("hallpass_session"))
            let tasksSecret = try await hub.addWebClient("tasks", redirect: Self.appB)
            let other = CodeRequest(client: "tasks", redirectURI: Self.appB)
            let tasks = try HubFixture.tokens(
                try await hub.exchange(try hub.code(of: try await browser.request(hub.authorizeURL(other)), other), other, secret: tasksSecret),
                "single sign-on at tasks", sourceLocation: #_sourceLocation)
            #expect(tasks.sessionID == before.sessionID)
            // auth_time counts whole seconds: let one pass so the new one differs.
            try await Task.sleep(for: .milliseconds(1100))

            var forced = CodeRequest(client: "notes", redirectURI: Self.appA)
            forced.extra = [("prompt", "login")]
            let reply = try await hub.authorize(forced, browser: browser, username: "rae", password: "pw-rae-1")
            let after = try HubFixture.tokens(try await hub.exchange(try hub.code(of: reply, forced), forced, secret: secret), "re-sign-in", sourceLocation: #_sourceLocation)
            #expect(after.sessionID == before.sessionID)
            let idToken = try #require(after.reply.string("id_token"))
            let claims = try await hub.idTokenClaims(idToken, audience: "notes")
            #expect(claims["sid"]?.stringValue == before.sessionID)
            let authTime = try #require(claims["auth_time"]?.integerValue)
            #expect(authTime > firstAuthTime)
            #expect(try await hub.store.sessions(ofUser: user.id).map(\.id) == [before.sessionID])

            // The other app's grant is untouched, and its refreshes carry the new auth_time.
            let refreshed = try await hub.refreshTokens(tasks.refresh, client: "tasks", secret: tasksSecret)
            let refreshedIDToken = try #require(refreshed.reply.string("id_token"))
            #expect(try await hub.idTokenClaims(refreshedIDToken, audience: "tasks")["auth_time"]?.integerValue == authTime)

            // The cookie was replaced: the old value signs nobody in any more, the new one does.
            let newCookie = try #require(browser.cookie("hallpass_session"))
            #expect(newCookie != oldCookie)
            let stale = TestBrowser()
            stale.setCookie("hallpass_session", oldCookie)
            #expect(try await stale.request(hub.authorizeURL(CodeRequest(client: "notes", redirectURI: Self.appA))).status == 200)
            #expect(try await browser.request(hub.authorizeURL(CodeRequest(client: "notes", redirectURI: Self.appA))).status == 302)

            let logins = try await hub.store.recentEvents(count: 100).filter { $0.type == "login" && $0.session == before.sessionID }
            #expect(logins.map(\.detail).contains("reauthenticated"))
            #expect(try await hub.store.recentEvents(count: 100).contains { $0.type == "session_ended" } == false)
        }
    }

    @Test("an unknown client, a missing or unregistered redirect URI is a page at the hub, never a redirect")
    func untrustedRedirectsAreNeverFollowed() async throws {
        try await withHub { hub in
            try await hub.addWebClient("notes", redirect: Self.appA)
            let browser = TestBrowser()
            var cases = [
                CodeRequest(client: "nobody", redirectURI: Self.appA),
                CodeRequest(client: "notes", redirectURI: "http://evil.example/cb"),
                CodeRequest(client: "notes", redirectURI: Self.appA + "/x"),
            ]
            var missing = CodeRequest(client: "notes", redirectURI: "")
            missing.extra = []
            cases.append(missing)
            for request in cases {
                let reply = try await browser.request(hub.authorizeURL(request))
                #expect(reply.status == 400, "\(request.redirectURI): \(reply.status)")
                #expect(reply.header("Location") == nil)
                #expect(reply.header("Content-Type")?.hasPrefix("text/html") == true)
            }
            // A repeated parameter is also refused at the hub.
            let repeated = try await browser.request(hub.authorizeURL(CodeRequest(client: "notes", redirectURI: Self.appA)) + "&state=again")
            #expect(repeated.status == 400 && repeated.header("Location") == nil)
        }
    }

    @Test("other errors go back to the client with error, state and iss: missing state, bad response_type, plain PKCE, missing PKCE")
    func errorRedirects() async throws {
        try await withHub { hub in
            try await hub.addWebClient("spa", confidential: false, redirect: Self.appA)
            let browser = TestBrowser()
            func expectRedirect(_ request: CodeRequest, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
                let reply = try await browser.request(hub.authorizeURL(request))
                #expect(reply.status == 302, "\(reply.text)", sourceLocation: sourceLocation)
                let items = queryItems(reply.header("Location") ?? "")
                #expect(items["error"] == code, sourceLocation: sourceLocation)
                #expect(items["error_description"]?.isEmpty == false, sourceLocation: sourceLocation)
                #expect(items["iss"] == hub.configuration.issuer, sourceLocation: sourceLocation)
                #expect(items["state"] == request.state, sourceLocation: sourceLocation)
                #expect(items["code"] == nil, sourceLocation: sourceLocation)
            }
            var noState = CodeRequest(client: "spa", redirectURI: Self.appA)
            noState.state = nil
            try await expectRedirect(noState, "invalid_request")
            var token = CodeRequest(client: "spa", redirectURI: Self.appA)
            token.extra = [("response_type", "token")]
            // response_type appears twice: refused at the hub.
            #expect(try await browser.request(hub.authorizeURL(token)).status == 400)
            let base = hub.authorizeURL(CodeRequest(client: "spa", redirectURI: Self.appA, verifier: nil))
            let wrongType = try await browser.request(base.replacingOccurrences(of: "response_type=code", with: "response_type=token"))
            #expect(queryItems(wrongType.header("Location") ?? "")["error"] == "unsupported_response_type")
            try await expectRedirect(CodeRequest(client: "spa", redirectURI: Self.appA, verifier: nil), "invalid_request")
            var plain = CodeRequest(client: "spa", redirectURI: Self.appA, verifier: nil)
            plain.extra = [("code_challenge", String(repeating: "a", count: 43)), ("code_challenge_method", "plain")]
            try await expectRedirect(plain, "invalid_request")
            // Unknown scope values are ignored (OIDC Core 3.1.2.1; OIDCConformanceTests); only a
            // scope too long to be one is refused.
            var scope = CodeRequest(client: "spa", redirectURI: Self.appA)
            scope.scope = "openid " + String(repeating: "x", count: 1100)
            try await expectRedirect(scope, "invalid_scope")
        }
    }

    @Test("a code is single-use: a replay is invalid_grant and revokes what the first use issued")
    func codeReplayRevokes() async throws {
        try await withHub { hub in
            try await hub.addUser("carol", password: "pw-carol-1")
            let secret = try #require(try await hub.addWebClient("notes", redirect: Self.appA))
            let browser = TestBrowser()
            let request = CodeRequest(client: "notes", redirectURI: Self.appA)
            let code = try hub.code(of: try await hub.authorize(request, browser: browser, username: "carol", password: "pw-carol-1"), request)
            let first = try HubFixture.tokens(try await hub.exchange(code, request, secret: secret), "first use", sourceLocation: #_sourceLocation)
            #expect(try await hub.isActive(first.access, client: "notes", secret: secret))
            expectError(try await hub.exchange(code, request, secret: secret), status: 400, code: "invalid_grant")
            #expect(try await hub.isActive(first.access, client: "notes", secret: secret) == false)
            expectError(try await hub.refresh(first.refresh, client: "notes", secret: secret), status: 400, code: "invalid_grant")
            #expect(try await hub.store.recentEvents(count: 50).contains { $0.type == "code_replayed" })
        }
    }

    @Test("the token request must match: PKCE verifier, redirect_uri, client; a bad code is invalid_grant")
    func codeBindings() async throws {
        try await withHub { hub in
            try await hub.addUser("dave", password: "pw-dave-1")
            let secret = try #require(try await hub.addWebClient("notes", redirect: Self.appA))
            let other = try #require(try await hub.addWebClient("tasks", redirect: Self.appA))
            let browser = TestBrowser()
            func freshCode(_ request: CodeRequest) async throws -> String {
                try hub.code(of: try await hub.authorize(request, browser: browser, username: "dave", password: "pw-dave-1"), request)
            }
            let request = CodeRequest(client: "notes", redirectURI: Self.appA)
            let wrong = try await hub.exchange(try await freshCode(request), request, secret: secret, verifier: String(repeating: "x", count: 43))
            expectError(wrong, status: 400, code: "invalid_grant")
            var noVerifier = request
            noVerifier.verifier = nil
            let missingVerifier = try await hub.exchange(try await freshCode(request), noVerifier, secret: secret)
            expectError(missingVerifier, status: 400, code: "invalid_grant")
            expectError(
                try await hub.exchange(try await freshCode(request), request, secret: secret, redirectURI: Self.appA + "?x=1"),
                status: 400, code: "invalid_grant")
            let stolen = try await freshCode(request)
            var asOther = request
            asOther.client = "tasks"
            expectError(try await hub.exchange(stolen, asOther, secret: other), status: 400, code: "invalid_grant")
            expectError(try await hub.exchange("garbage", request, secret: secret), status: 400, code: "invalid_grant")
            // A confidential client may skip PKCE.
            let noPKCE = CodeRequest(client: "notes", redirectURI: Self.appA, verifier: nil)
            _ = try HubFixture.tokens(try await hub.exchange(try await freshCode(noPKCE), noPKCE, secret: secret), "no PKCE", sourceLocation: #_sourceLocation)
            // A public client that is not allowed the grant: unauthorized_client.
            try await hub.addClient("api", confidential: false, grants: ["password"])
            expectError(try await hub.exchange("x.y", CodeRequest(client: "api", redirectURI: Self.appA), secret: nil), status: 400, code: "unauthorized_client")
        }
    }

    @Test("login form: CSRF token required, wrong password is a generic message, throttling answers 429")
    func loginFormDefenses() async throws {
        try await withHub(configure: { $0.loginThrottle = LoginThrottle(perUsername: 2, perAddress: 100, window: 60) }) { hub in
            try await hub.addUser("erin", password: "pw-erin-1")
            try await hub.addWebClient("notes", redirect: Self.appA)
            let browser = TestBrowser()
            let request = CodeRequest(client: "notes", redirectURI: Self.appA)
            let form = try await browser.request(hub.authorizeURL(request))
            let fields = hiddenFields(form.text)

            // No CSRF cookie (a cross-site post), or a token that does not match: refused, no login.
            let csrfName = "hallpass_csrf"
            let saved = browser.cookie(csrfName)
            browser.setCookie(csrfName, nil)
            let noCookie = try await browser.request(
                hub.baseURL + HubPath.login, method: .POST, form: fields + [("username", "erin"), ("password", "pw-erin-1")])
            #expect(noCookie.status == 403)
            #expect(noCookie.header("Location") == nil && noCookie.text.contains("expired"))
            browser.setCookie(csrfName, saved)
            let tampered = fields.map { $0.0 == "csrf" ? ($0.0, String(repeating: "a", count: 52)) : $0 }
            let mismatch = try await browser.request(
                hub.baseURL + HubPath.login, method: .POST, form: tampered + [("username", "erin"), ("password", "pw-erin-1")])
            #expect(mismatch.status == 403)

            let fresh = hiddenFields(try await browser.request(hub.authorizeURL(request)).text)
            let bad = try await browser.request(
                hub.baseURL + HubPath.login, method: .POST, form: fresh + [("username", "erin"), ("password", "wrong")])
            #expect(bad.status == 401 && bad.text.contains("Incorrect username or password."))
            let unknown = try await browser.request(
                hub.baseURL + HubPath.login, method: .POST, form: fresh + [("username", "nobody"), ("password", "wrong")])
            #expect(unknown.status == 401 && unknown.text.contains("Incorrect username or password."))
            _ = try await browser.request(hub.baseURL + HubPath.login, method: .POST, form: fresh + [("username", "erin"), ("password", "wrong")])
            let throttled = try await browser.request(
                hub.baseURL + HubPath.login, method: .POST, form: fresh + [("username", "erin"), ("password", "pw-erin-1")])
            #expect(throttled.status == 429)
            #expect(throttled.header("Retry-After") != nil)
            #expect(throttled.text.contains("Too many failed sign-in attempts"))
            // Shared with the token endpoint.
            let apiSecret = try #require(try await hub.addClient("api"))
            expectError(try await hub.login("erin", password: "pw-erin-1", client: "api", secret: apiSecret), status: 429, code: "too_many_attempts")
        }
    }

    @Test("deny-new: a browser login while a session is live shows a clear page")
    func denyNewPage() async throws {
        try await withHub(configure: { $0.singleLoginPolicy = .denyNew }) { hub in
            try await hub.addUser("fay", password: "pw-fay-1")
            let secret = try #require(try await hub.addClient("api"))
            _ = try await hub.loginTokens("fay", password: "pw-fay-1", client: "api", secret: secret)
            try await hub.addWebClient("notes", redirect: Self.appA)
            let reply = try await hub.authorize(CodeRequest(client: "notes", redirectURI: Self.appA), browser: TestBrowser(), username: "fay", password: "pw-fay-1")
            #expect(reply.status == 409)
            #expect(reply.header("Location") == nil)
            #expect(reply.text.contains("Already signed in elsewhere"))
        }
    }

    @Test("browser logout: id_token_hint ends the session, clears the cookie, returns to a registered URI with state")
    func browserLogout() async throws {
        try await withHub { hub in
            try await hub.addUser("gus", password: "pw-gus-1")
            let done = "http://127.0.0.1:9/a/signed-out"
            let secret = try await hub.addWebClient("notes", redirect: Self.appA, postLogout: [done])
            let browser = TestBrowser()
            let request = CodeRequest(client: "notes", redirectURI: Self.appA)
            let tokens = try await hub.signIn(request, browser: browser, username: "gus", password: "pw-gus-1", secret: secret)
            let hint = try #require(tokens.reply.string("id_token"))

            // An unregistered post-logout URI: a page, no redirect, and the session lives on.
            let foreign = try await browser.request(
                hub.baseURL + HubPath.endSession + "?id_token_hint=\(hint)&post_logout_redirect_uri=\(formEncode("http://evil.example/"))")
            #expect(foreign.status == 400 && foreign.header("Location") == nil)
            #expect(try await hub.isActive(tokens.access, client: "notes", secret: secret!))

            let out = try await browser.request(
                hub.baseURL + HubPath.endSession + "?id_token_hint=\(hint)&post_logout_redirect_uri=\(formEncode(done))&state=s1")
            #expect(out.status == 302)
            #expect(out.header("Location") == done + "?state=s1")
            #expect(browser.cookie("hallpass_session") == nil)
            #expect(try await hub.isActive(tokens.access, client: "notes", secret: secret!) == false)
            #expect(try await browser.request(hub.authorizeURL(CodeRequest(client: "notes", redirectURI: Self.appA))).status == 200)

            // Without a hint, the cookie names the session; with no redirect, a signed-out page.
            let again = CodeRequest(client: "notes", redirectURI: Self.appA)
            let second = try await hub.signIn(again, browser: browser, username: "gus", password: "pw-gus-1", secret: secret)
            // A GET without a hint only asks; nothing ends until the confirmation is posted.
            let confirm = try await browser.request(hub.baseURL + HubPath.endSession + "?state=s2")
            #expect(confirm.status == 200 && confirm.text.contains("Sign out?"))
            #expect(try await hub.isActive(second.access, client: "notes", secret: secret!))
            let page = try await browser.request(hub.baseURL + HubPath.endSession, method: .POST, form: hiddenFields(confirm.text))
            #expect(page.status == 200 && page.text.contains("Signed out"))
            #expect(try await hub.isActive(second.access, client: "notes", secret: secret!) == false)
            // A forged hint is refused.
            #expect(try await browser.request(hub.baseURL + HubPath.endSession + "?id_token_hint=a.b.c").status == 400)
        }
    }

    @Test("an https issuer makes the cookies Secure with the __Host- prefix")
    func secureCookies() async throws {
        try await withHub(configure: { $0.issuer = "https://hub.example" }) { hub in
            try await hub.addUser("hal", password: "pw-hal-1")
            try await hub.addWebClient("notes", redirect: Self.appA)
            let browser = TestBrowser()
            let reply = try await hub.authorize(CodeRequest(client: "notes", redirectURI: Self.appA), browser: browser, username: "hal", password: "pw-hal-1")
            #expect(reply.status == 302)
            let cookies = browser.setCookies.withLock { $0 }
            #expect(cookies.contains { $0.hasPrefix("__Host-hallpass-csrf=") && $0.contains("; Secure") && $0.contains("Path=/") })
            let session = try #require(cookies.first { $0.hasPrefix("__Host-hallpass=") })
            #expect(session.contains("; Secure") && session.contains("HttpOnly") && session.contains("SameSite=Lax") && !session.contains("Domain"))
        }
    }

    @Test("malformed browser requests get a 4xx page, never a 500 or a redirect")
    func malformedBrowserRequests() async throws {
        try await withHub { hub in
            try await hub.addWebClient("notes", redirect: Self.appA)
            let browser = TestBrowser()
            for query in ["%ff%fe", "client_id=notes&client_id=notes", "client_id=%zz", "client_id=" + String(repeating: "a", count: 20000)] {
                let reply = try await browser.request(hub.baseURL + HubPath.authorization + "?" + query)
                #expect((400..<500).contains(reply.status), "\(query.prefix(40)): \(reply.status)")
                #expect(reply.header("Location") == nil)
            }
            var request = HTTPClientRequest(url: hub.baseURL + HubPath.login)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: "{}"))
            let json = try await HTTPReply(noRedirectClient.execute(request, timeout: .seconds(30)))
            #expect(json.status == 400 && json.header("Content-Type")?.hasPrefix("text/html") == true)
            let login = try await browser.request(hub.baseURL + HubPath.login, method: .POST, form: [("username", "x")])
            #expect(login.status == 400 && login.header("Location") == nil)
            let logout = try await browser.request(hub.baseURL + HubPath.endSession + "?state=a&state=b")
            #expect(logout.status == 400)
            let hint = try await browser.request(hub.baseURL + HubPath.endSession + "?id_token_hint=" + String(repeating: "x", count: 9000))
            #expect(hint.status == 400)
        }
    }
}
