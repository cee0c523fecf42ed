import Foundation
import HallpassJOSE
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("Device authorization grant (RFC 8628): the verification page")
struct DeviceVerificationTests {
    @Test("sign in at the page, approve, exchange: tokens in the browser's hub session, which a forced logout ends with the device's grant")
    func approveSignInAndExchange() async throws {
        try await withAddressedHub(configure: DeviceFlow.fast) { hub in
            let user = try await hub.addUser("dana", password: "pw-dana-1", name: "Dana")
            try await hub.addDeviceClient("tv")
            let start = try await hub.startDevice(client: "tv")
            let browser = TestBrowser()

            // The page asks for the password first, showing which client asks.
            let first = try await browser.request(start.complete)
            #expect(first.status == 200)
            #expect(first.text.contains("name=\"password\"") && first.text.contains("tv"))
            #expect(first.header("X-Frame-Options") == "DENY" && first.header("Cache-Control") == "no-store")
            let signedIn = try await browser.request(
                hub.baseURL + DeviceFlow.signInPath, method: .POST,
                form: hiddenFields(first.text) + [("username", "dana"), ("password", "pw-dana-1")])
            #expect(signedIn.status == 200, "\(signedIn.text)")
            // Which client asks for which scopes, and the two buttons.
            #expect(signedIn.text.contains("<strong>tv</strong>") && signedIn.text.contains("<strong>dana</strong>"))
            #expect(signedIn.text.contains(DeviceFlow.profileWords) && signedIn.text.contains("value=\"approve\"") && signedIn.text.contains("value=\"deny\""))
            let sid = try #require(hub.browserSessionID(browser), "signing in at the page set no hub cookie")

            // Still pending until the user approves.
            expectError(try await hub.pollDevice(start.deviceCode, client: "tv"), status: 400, code: "authorization_pending")
            let done = try await browser.request(
                hub.baseURL + DeviceFlow.decisionPath, method: .POST, form: hiddenFields(signedIn.text) + [("decision", "approve")])
            #expect(done.status == 200, "\(done.text)")
            #expect(done.text.contains("Device connected"))

            let reply = try await hub.pollDevice(start.deviceCode, client: "tv")
            let tokens = try HubFixture.tokens(reply, "device exchange", sourceLocation: #_sourceLocation)
            #expect(reply.header("Cache-Control") == "no-store")
            #expect(reply.string("scope") == "openid profile")
            let idToken = try #require(reply.string("id_token"))
            let claims = try await hub.idTokenClaims(idToken, audience: "tv")
            #expect(claims.subject == user.id)
            #expect(claims["sid"]?.stringValue == sid)
            #expect(tokens.sessionID == sid)
            let me = try await hub.userinfo(bearer: tokens.access)
            #expect(me.string("sub") == user.id && me.string("preferred_username") == "dana")

            let refreshed = try await hub.refreshTokens(tokens.refresh, client: "tv", secret: nil)
            // The user code is used up too.
            #expect(try await browser.request(start.complete).status == 400)

            // `hallpass logout dana` ends the session, and with it the device's grant.
            #expect(try await hub.store.endSessions(ofUser: user.id, reason: "forced_logout", actor: "cli:test") == 1)
            expectError(try await hub.refresh(refreshed.refresh, client: "tv", secret: nil), status: 400, code: "invalid_grant")
        }
    }

    @Test("a browser already signed in at the hub approves without a password; the device joins that same session")
    func approveWithLiveSession() async throws {
        try await withAddressedHub(configure: DeviceFlow.fast) { hub in
            try await hub.addUser("eve", password: "pw-eve-1")
            let redirect = "http://127.0.0.1:9/cb"
            let webSecret = try await hub.addWebClient("web", redirect: redirect)
            try await hub.addDeviceClient("tv")
            let browser = TestBrowser()
            let web = try await hub.signIn(
                CodeRequest(client: "web", redirectURI: redirect), browser: browser, username: "eve", password: "pw-eve-1", secret: webSecret)

            // Typed by hand, lowercase, without the dash.
            let start = try await hub.startDevice(client: "tv")
            let typed = start.userCode.replacingOccurrences(of: "-", with: "").lowercased()
            let codeForm = try await browser.request(hub.baseURL + DeviceFlow.verificationPath)
            #expect(codeForm.status == 200 && codeForm.text.contains("<label for=\"user_code\">"))
            let confirm = try await browser.request(
                hub.baseURL + DeviceFlow.verificationPath, method: .POST, form: hiddenFields(codeForm.text) + [("user_code", typed)])
            #expect(confirm.status == 200, "\(confirm.text)")
            #expect(!confirm.text.contains("name=\"password\""))
            let done = try await browser.request(
                hub.baseURL + DeviceFlow.decisionPath, method: .POST, form: hiddenFields(confirm.text) + [("decision", "approve")])
            #expect(done.status == 200, "\(done.text)")

            let device = try HubFixture.tokens(try await hub.pollDevice(start.deviceCode, client: "tv"), "device exchange", sourceLocation: #_sourceLocation)
            #expect(device.sessionID == web.sessionID)
            #expect(try await hub.store.session(id: web.sessionID)?.clients == ["tv", "web"])

            // Ending the session anywhere (here: the web app's logout) ends the device's grant too.
            #expect(try await hub.logout(bearer: web.access).status == 204)
            expectError(try await hub.refresh(device.refresh, client: "tv", secret: nil), status: 400, code: "invalid_grant")
        }
    }

    @Test("a device code is single-use: a second exchange is invalid_grant and revokes what the first issued; the session's other grants live on")
    func replay() async throws {
        try await withAddressedHub(configure: DeviceFlow.fast) { hub in
            try await hub.addUser("nia", password: "pw-nia-1")
            let redirect = "http://127.0.0.1:9/cb"
            let webSecret = try await hub.addWebClient("web", redirect: redirect)
            try await hub.addDeviceClient("tv")
            let browser = TestBrowser()
            let web = try await hub.signIn(
                CodeRequest(client: "web", redirectURI: redirect), browser: browser, username: "nia", password: "pw-nia-1", secret: webSecret)
            let start = try await hub.startDevice(client: "tv")
            #expect(try await hub.decideDevice(start.complete, browser: browser, username: "nia", password: "pw-nia-1").status == 200)
            let device = try HubFixture.tokens(try await hub.pollDevice(start.deviceCode, client: "tv"), "device exchange", sourceLocation: #_sourceLocation)
            expectError(try await hub.pollDevice(start.deviceCode, client: "tv"), status: 400, code: "invalid_grant")
            expectError(try await hub.refresh(device.refresh, client: "tv", secret: nil), status: 400, code: "invalid_grant")
            #expect(try await hub.userinfo(bearer: device.access).status == 401)
            _ = try await hub.refreshTokens(web.refresh, client: "web", secret: webSecret)
            #expect(try await hub.store.session(id: web.sessionID)?.clients == ["web"])
        }
    }

    @Test("Deny: the device hears access_denied, every time; the user code is used up")
    func deny() async throws {
        try await withAddressedHub(configure: DeviceFlow.fast) { hub in
            try await hub.addUser("finn", password: "pw-finn-1")
            try await hub.addDeviceClient("tv")
            let start = try await hub.startDevice(client: "tv")
            let browser = TestBrowser()
            let done = try await hub.decideDevice(start.complete, browser: browser, username: "finn", password: "pw-finn-1", approve: false)
            #expect(done.status == 200 && done.text.contains("Request denied"), "\(done.text)")
            expectError(try await hub.pollDevice(start.deviceCode, client: "tv"), status: 400, code: "access_denied")
            try await Task.sleep(for: .milliseconds(1100))
            expectError(try await hub.pollDevice(start.deviceCode, client: "tv"), status: 400, code: "access_denied")
            #expect(try await browser.request(start.complete).status == 400)
        }
    }

    @Test("after N wrong codes from one address the page answers 429 with Retry-After, even for a right code; right codes do not count")
    func bruteForceThrottled() async throws {
        try await withAddressedHub(configure: { configuration in
            DeviceFlow.fast(&configuration)
            configuration.deviceAuthorization.userCodeAttempts = 3
        }) { hub in
            try await hub.addUser("gus", password: "pw-gus-1")
            try await hub.addDeviceClient("tv")
            let start = try await hub.startDevice(client: "tv")
            let browser = TestBrowser()
            // Right codes are not failures: more lookups than the limit all pass.
            for _ in 0..<5 { #expect(try await browser.request(start.complete).status == 200) }
            let wrong = start.userCode == "BBBB-BBBB" ? "CCCC-CCCC" : "BBBB-BBBB"
            for _ in 0..<3 {
                let page = try await browser.request(start.verificationURI + "?user_code=" + wrong)
                #expect(page.status == 400)
                #expect(page.text.contains("not valid"))
            }
            let locked = try await browser.request(start.complete)
            #expect(locked.status == 429, "\(locked.text)")
            let retryAfter = try #require(locked.header("Retry-After").flatMap { Int($0) })
            #expect((1...900).contains(retryAfter))
            #expect(!locked.text.contains("name=\"password\""))
            // The sign-in and decision forms count too.
            let viaForm = try await browser.request(
                hub.baseURL + DeviceFlow.decisionPath, method: .POST,
                form: [("csrf", browser.cookie("hallpass_csrf") ?? ""), ("user_code", start.userCode), ("decision", "approve")])
            #expect(viaForm.status == 429)
            // Nothing was decided.
            expectError(try await hub.pollDevice(start.deviceCode, client: "tv"), status: 400, code: "authorization_pending")
        }
    }

    @Test("bad input on the page: no or a wrong CSRF token, a huge or garbage code, a repeated parameter, an unknown decision: a 4xx page and nothing changed")
    func badInput() async throws {
        try await withAddressedHub(configure: DeviceFlow.fast) { hub in
            try await hub.addUser("hal", password: "pw-hal-1")
            try await hub.addDeviceClient("tv")
            let start = try await hub.startDevice(client: "tv")
            let browser = TestBrowser()
            let confirm = try await hub.decideDeviceForm(start.complete, browser: browser, username: "hal", password: "pw-hal-1")
            let first = hiddenFields(confirm.text).filter { $0.0 != "csrf" }

            // The decision without CSRF, with a wrong token, and from a browser without the cookie.
            for form in [first + [("decision", "approve")], first + [("csrf", String(repeating: "a", count: 52)), ("decision", "approve")]] {
                let page = try await browser.request(hub.baseURL + DeviceFlow.decisionPath, method: .POST, form: form)
                #expect(page.status == 403, "\(page.text)")
                #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
            }
            // A refused token is replaced (as at the login form): the form must be loaded again.
            let reloaded = try await browser.request(start.complete)
            #expect(reloaded.status == 200 && reloaded.text.contains("name=\"decision\""))
            let fields = hiddenFields(reloaded.text)
            func without(_ name: String) -> [(String, String)] { fields.filter { $0.0 != name } }
            let stranger = TestBrowser()
            stranger.setCookie("hallpass_session", browser.cookie("hallpass_session"))
            #expect(try await stranger.request(hub.baseURL + DeviceFlow.decisionPath, method: .POST, form: fields + [("decision", "approve")]).status == 403)
            // The code form and the sign-in form check CSRF too.
            #expect(try await stranger.request(hub.baseURL + DeviceFlow.verificationPath, method: .POST, form: [("user_code", start.userCode)]).status == 403)
            #expect(try await stranger.request(
                hub.baseURL + DeviceFlow.signInPath, method: .POST,
                form: [("user_code", start.userCode), ("username", "hal"), ("password", "pw-hal-1")]).status == 403)
            // An unknown decision.
            #expect(try await browser.request(hub.baseURL + DeviceFlow.decisionPath, method: .POST, form: fields + [("decision", "maybe")]).status == 400)
            // A huge code (in the form and beyond the body limit), garbage, a repeated parameter.
            let huge = try await browser.request(
                hub.baseURL + DeviceFlow.verificationPath, method: .POST, form: without("user_code") + [("user_code", String(repeating: "B", count: 20_000))])
            #expect(huge.status == 400)
            let tooLarge = try await browser.request(
                hub.baseURL + DeviceFlow.verificationPath, method: .POST, form: without("user_code") + [("user_code", String(repeating: "B", count: 70_000))])
            #expect(tooLarge.status == 413)
            #expect(tooLarge.header("Content-Type")?.hasPrefix("text/html") == true)
            // The hub's login form shares the page plumbing, and answers a body over the limit the same way.
            let loginTooLarge = try await browser.request(
                hub.baseURL + HubPath.login, method: .POST, form: [("username", String(repeating: "u", count: 70_000))])
            #expect(loginTooLarge.status == 413)
            let garbage = try await browser.request(start.verificationURI + "?user_code=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
            #expect(garbage.status == 400)
            #expect(!garbage.text.contains("<script>"))
            #expect(try await browser.request(start.verificationURI + "?user_code=a&user_code=b").status == 400)

            // Nothing changed: the device still waits, and the right form still works.
            expectError(try await hub.pollDevice(start.deviceCode, client: "tv"), status: 400, code: "authorization_pending")
            let done = try await browser.request(hub.baseURL + DeviceFlow.decisionPath, method: .POST, form: fields + [("decision", "approve")])
            #expect(done.status == 200, "\(done.text)")
            _ = try HubFixture.tokens(try await hub.pollDevice(start.deviceCode, client: "tv"), "device exchange", sourceLocation: #_sourceLocation)
        }
    }

    @Test("a wrong password at the page is refused like at the login form, and throttled by the login throttle")
    func wrongPassword() async throws {
        try await withAddressedHub(configure: { configuration in
            DeviceFlow.fast(&configuration)
            configuration.loginThrottle = LoginThrottle(perUsername: 2, perAddress: 100, window: 60)
        }) { hub in
            try await hub.addUser("ida", password: "pw-ida-1")
            try await hub.addDeviceClient("tv")
            let start = try await hub.startDevice(client: "tv")
            let browser = TestBrowser()
            let form = try await browser.request(start.complete)
            for _ in 0..<2 {
                let page = try await browser.request(
                    hub.baseURL + DeviceFlow.signInPath, method: .POST, form: hiddenFields(form.text) + [("username", "ida"), ("password", "nope")])
                #expect(page.status == 401)
                #expect(!page.text.contains("nope"))
            }
            let locked = try await browser.request(
                hub.baseURL + DeviceFlow.signInPath, method: .POST, form: hiddenFields(form.text) + [("username", "ida"), ("password", "pw-ida-1")])
            #expect(locked.status == 429)
            #expect(locked.header("Retry-After") != nil)
            #expect(hub.browserSessionID(browser) == nil)
            expectError(try await hub.pollDevice(start.deviceCode, client: "tv"), status: 400, code: "authorization_pending")
        }
    }
}

extension HubFixture {
    /// Opens `url`, signs in when asked, and returns the confirmation page (not yet decided).
    func decideDeviceForm(_ url: String, browser: TestBrowser, username: String, password: String) async throws -> HTTPReply {
        var page = try await browser.request(url)
        if page.text.contains("name=\"password\"") {
            page = try await browser.request(
                baseURL + DeviceFlow.signInPath, method: .POST, form: hiddenFields(page.text) + [("username", username), ("password", password)])
        }
        try #require(page.status == 200 && page.text.contains("name=\"decision\""), "\(page.status): \(page.text)")
        return page
    }
}
