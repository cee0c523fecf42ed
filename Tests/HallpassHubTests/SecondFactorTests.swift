import Foundation
import HallpassCrypto
import HallpassJOSE
import HallpassOTP
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("Second factor: TOTP set-up at the account page, sign-in with a code, password grant otp, step-up, policy, claims")
struct SecondFactorTests {
    static let app = "http://127.0.0.1:9/app/callback"

    /// Signs `username` in at the account page and sets up TOTP there; returns the
    /// authenticator and the recovery codes shown.
    static func enroll(
        _ hub: HubFixture, browser: TestBrowser, username: String, password: String
    ) async throws -> (TestAuthenticator, [String]) {
        let form = try await browser.request(hub.baseURL + "/account")
        #expect(form.status == 200 && form.text.contains(#"name="password""#))
        let signedIn = try await browser.request(
            hub.baseURL + "/account/login", method: .POST, form: hiddenFields(form.text) + [("username", username), ("password", password)])
        #expect(signedIn.status == 303 && signedIn.header("Location") == "/account")
        let page = try await browser.request(hub.baseURL + "/account")
        #expect(page.status == 200 && page.text.contains("Set up two-step verification"))
        let setUp = try await browser.request(hub.baseURL + "/account/mfa/setup", method: .POST, form: csrfField(page.text))
        #expect(setUp.status == 200)
        #expect(setUp.text.contains("<svg") && setUp.text.contains(#"name="otp""#))
        let authenticator = try TestAuthenticator(secretText: try TestAuthenticator.secret(inPage: setUp.text))
        let done = try await browser.request(
            hub.baseURL + "/account/mfa/confirm", method: .POST, form: hiddenFields(setUp.text) + [("otp", try await authenticator.freshCode())])
        #expect(done.status == 200, "confirming the set-up answered \(done.status): \(done.text)")
        let codes = recoveryCodes(inPage: done.text)
        #expect(codes.count == 10 && Set(codes).count == 10)
        return (authenticator, codes)
    }

    @Test("access and ID tokens carry preferred_username, amr and acr; discovery lists acr_values_supported")
    func claimsOfAPasswordLogin() async throws {
        try await withHub { hub in
            try await hub.addUser("carol", password: "pw-carol-1", email: "carol@example.com", emailVerified: true)
            let secret = try await hub.addClient("cli", grants: ["password"])
            let tokens = try await hub.loginTokens("carol", password: "pw-carol-1", client: "cli", secret: secret, scope: "openid email")
            let access = try await hub.verifiedClaims(of: tokens.access, audience: "cli")
            #expect(access["preferred_username"]?.stringValue == "carol")
            #expect(access["amr"] == .array([.string("pwd")]))
            #expect(access["acr"]?.stringValue == "pwd")
            let id = try await hub.idTokenClaims(try #require(tokens.reply.string("id_token")), audience: "cli")
            #expect(id["amr"] == .array([.string("pwd")]) && id["acr"]?.stringValue == "pwd")
            #expect(id["email_verified"] == .bool(true))
            let discovery = try await hub.get(HubPath.discovery)
            #expect(discovery["acr_values_supported"] == .array([.string("pwd"), .string("mfa")]))
        }
    }

    @Test("set up at the account page; the password grant then demands otp, takes a code once, and recovery codes once")
    func passwordGrantWithSecondFactor() async throws {
        try await withHub { hub in
            let user = try await hub.addUser("dave", password: "pw-dave-1")
            let secret = try await hub.addClient("cli", grants: ["password", "refresh_token"])
            let (authenticator, codes) = try await Self.enroll(hub, browser: TestBrowser(), username: "dave", password: "pw-dave-1")
            #expect(try await hub.store.user(id: user.id)?.hasSecondFactor == true)

            let missing = try await hub.login("dave", password: "pw-dave-1", client: "cli", secret: secret)
            #expect(missing.status == 400 && missing.string("error") == "mfa_required")
            let wrong = try await hub.post(
                HubPath.token, form: [("grant_type", "password"), ("username", "dave"), ("password", "pw-dave-1"), ("otp", "000000")],
                basic: ("cli", try #require(secret)))
            #expect(wrong.status == 400 && wrong.string("error") == "invalid_grant")

            let code = try await authenticator.freshCode()
            let form = [("grant_type", "password"), ("username", "dave"), ("password", "pw-dave-1"), ("otp", code)]
            let good = try await hub.post(HubPath.token, form: form, basic: ("cli", try #require(secret)))
            #expect(good.status == 200, "\(good.text)")
            let claims = try await hub.verifiedClaims(of: try #require(good.string("access_token")), audience: "cli")
            #expect(claims["amr"] == .array([.string("pwd"), .string("otp"), .string("mfa")]))
            #expect(claims["acr"]?.stringValue == "mfa")
            // A refresh keeps what the sign-in was.
            let refreshed = try await hub.refreshTokens(try #require(good.string("refresh_token")), client: "cli", secret: secret)
            let refreshedClaims = try await hub.verifiedClaims(of: refreshed.access, audience: "cli")
            #expect(refreshedClaims["acr"]?.stringValue == "mfa" && refreshedClaims["preferred_username"]?.stringValue == "dave")

            // RFC 6238 section 5.2: the same code is not accepted twice.
            let replay = try await hub.post(HubPath.token, form: form, basic: ("cli", try #require(secret)))
            #expect(replay.status == 400 && replay.string("error") == "invalid_grant")

            // A recovery code works once, in any case and without dashes.
            let recovery = codes[3].uppercased().replacingOccurrences(of: "-", with: "")
            let withRecovery = [("grant_type", "password"), ("username", "dave"), ("password", "pw-dave-1"), ("otp", recovery)]
            #expect(try await hub.post(HubPath.token, form: withRecovery, basic: ("cli", try #require(secret))).status == 200)
            #expect(try await hub.post(HubPath.token, form: withRecovery, basic: ("cli", try #require(secret))).status == 400)
            #expect(try await hub.store.secondFactor(ofUser: user.id)?.recoveryCodesLeft == 9)

            let events = try await hub.store.recentEvents(count: 200).filter { $0.user == user.id }.map(\.type)
            #expect(events.contains("mfa_enrolled") && events.contains("mfa_failed") && events.contains("recovery_code_used"))
        }
    }

    @Test("the TOTP secret is sealed under the key-encryption key and bound to its user")
    func secretSealedAtRest() async throws {
        let kek = SymmetricKey.generate()
        try await withHub(configure: { $0.keyEncryptionKey = kek }) { hub in
            let user = try await hub.addUser("erin", password: "pw-erin-1")
            let (authenticator, _) = try await Self.enroll(hub, browser: TestBrowser(), username: "erin", password: "pw-erin-1")
            let stored = try #require(try await hub.store.secondFactor(ofUser: user.id)).storedSecret
            #expect(stored.hasPrefix("sealed:"))
            let plain = Base32.encode(authenticator.secret)
            #expect(!stored.uppercased().contains(plain.uppercased().prefix(16)))
            #expect(try SecondFactorSecret.open(stored, userID: user.id, kek: kek) == authenticator.secret)
            #expect(throws: SecondFactorSecret.Problem.cannotOpen) { try SecondFactorSecret.open(stored, userID: "someone-else", kek: kek) }
        }
    }

    @Test("browser sign-in asks for the code after the password; a wrong code is refused and changes nothing")
    func browserSignInWithCode() async throws {
        try await withHub { hub in
            try await hub.addUser("fay", password: "pw-fay-1")
            let secret = try await hub.addWebClient("web", redirect: Self.app)
            let (authenticator, _) = try await Self.enroll(hub, browser: TestBrowser(), username: "fay", password: "pw-fay-1")

            let browser = TestBrowser()
            let request = CodeRequest(client: "web", redirectURI: Self.app)
            let form = try await browser.request(hub.authorizeURL(request))
            let second = try await browser.request(
                hub.baseURL + HubPath.login, method: .POST, form: hiddenFields(form.text) + [("username", "fay"), ("password", "pw-fay-1")])
            #expect(second.status == 200 && second.text.contains(#"name="otp""#) && second.text.contains("Two-step verification"))
            #expect(browser.cookie("hallpass_session") == nil, "no session before the second factor")

            let wrong = try await browser.request(
                hub.baseURL + "/oauth2/login/otp", method: .POST, form: hiddenFields(second.text) + [("otp", "123456")])
            #expect(wrong.status == 401 && browser.cookie("hallpass_session") == nil)
            let noCSRF = try await browser.request(
                hub.baseURL + "/oauth2/login/otp", method: .POST,
                form: hiddenFields(second.text).filter { $0.0 != "csrf" } + [("otp", try await authenticator.freshCode())])
            #expect(noCSRF.status == 403 && browser.cookie("hallpass_session") == nil)

            let right = try await browser.request(
                hub.baseURL + "/oauth2/login/otp", method: .POST, form: hiddenFields(second.text) + [("otp", try await authenticator.freshCode())])
            #expect(right.status == 303)
            let location = try #require(right.header("Location"))
            #expect(location.hasPrefix("/oauth2/authorize?"))
            let redirect = try await browser.request(hub.baseURL + location)
            let tokens = try HubFixture.tokens(try await hub.exchange(try hub.code(of: redirect, request), request, secret: secret), "code", sourceLocation: #_sourceLocation)
            let claims = try await hub.verifiedClaims(of: tokens.access, audience: "web")
            #expect(claims["acr"]?.stringValue == "mfa")
            let id = try await hub.idTokenClaims(try #require(tokens.reply.string("id_token")), audience: "web")
            #expect(id["acr"]?.stringValue == "mfa" && id["nonce"]?.stringValue == request.nonce)

            // The pending sign-in is used up: the same form again is refused.
            let again = try await browser.request(
                hub.baseURL + "/oauth2/login/otp", method: .POST, form: hiddenFields(second.text) + [("otp", try await authenticator.freshCode())])
            #expect(again.status == 403)
        }
    }

    @Test("acr_values=mfa steps a password-only session up, and the session keeps the stronger sign-in for later codes")
    func stepUp() async throws {
        try await withHub { hub in
            try await hub.addUser("gus", password: "pw-gus-1")
            let secret = try await hub.addWebClient("web", redirect: Self.app)
            let browser = TestBrowser()
            // Signed in with a password, and then sets up TOTP in the same browser.
            let plain = try await hub.signIn(CodeRequest(client: "web", redirectURI: Self.app), browser: browser, username: "gus", password: "pw-gus-1", secret: secret)
            #expect(try await hub.verifiedClaims(of: plain.access, audience: "web")["acr"]?.stringValue == "pwd")
            let page = try await browser.request(hub.baseURL + "/account")
            let setUp = try await browser.request(hub.baseURL + "/account/mfa/setup", method: .POST, form: csrfField(page.text))
            let authenticator = try TestAuthenticator(secretText: try TestAuthenticator.secret(inPage: setUp.text))
            _ = try await browser.request(
                hub.baseURL + "/account/mfa/confirm", method: .POST, form: hiddenFields(setUp.text) + [("otp", try await authenticator.freshCode())])

            // Without acr_values, single sign-on goes on as before.
            let sso = CodeRequest(client: "web", redirectURI: Self.app)
            #expect(try await browser.request(hub.authorizeURL(sso)).status == 302)
            // With acr_values=mfa: the code form, even inside the live session.
            var strong = CodeRequest(client: "web", redirectURI: Self.app)
            strong.extra = [("acr_values", "mfa")]
            let challenge = try await browser.request(hub.authorizeURL(strong))
            #expect(challenge.status == 200 && challenge.text.contains(#"name="otp""#))
            // prompt=none cannot step up.
            var silent = strong
            silent.extra.append(("prompt", "none"))
            let refused = try await browser.request(hub.authorizeURL(silent))
            let refusedAt = try #require(refused.header("Location"))
            #expect(refused.status == 302 && queryItems(refusedAt)["error"] == "interaction_required")

            let done = try await browser.request(
                hub.baseURL + "/oauth2/login/otp", method: .POST, form: hiddenFields(challenge.text) + [("otp", try await authenticator.freshCode())])
            let redirect = try await browser.request(hub.baseURL + (try #require(done.header("Location"))))
            let stepped = try HubFixture.tokens(try await hub.exchange(try hub.code(of: redirect, strong), strong, secret: secret), "step-up", sourceLocation: #_sourceLocation)
            #expect(stepped.sessionID == plain.sessionID, "a step up keeps the session")
            #expect(try await hub.verifiedClaims(of: stepped.access, audience: "web")["acr"]?.stringValue == "mfa")
            // Later codes of the session, without acr_values, say mfa too.
            let later = CodeRequest(client: "web", redirectURI: Self.app)
            let laterTokens = try HubFixture.tokens(
                try await hub.exchange(try hub.code(of: try await browser.request(hub.authorizeURL(later)), later), later, secret: secret), "later",
                sourceLocation: #_sourceLocation)
            #expect(try await hub.verifiedClaims(of: laterTokens.access, audience: "web")["acr"]?.stringValue == "mfa")
        }
    }

    @Test("policy mfa required: sign-in goes to set-up before any code; the password grant says mfa_enrollment_required")
    func requiredPolicy() async throws {
        try await withHub { hub in
            let user = try await hub.addUser("hal", password: "pw-hal-1")
            let cli = try await hub.addClient("cli", grants: ["password"])
            let secret = try await hub.addWebClient("web", redirect: Self.app)
            try await hub.store.setGlobalSecondFactorPolicy(.required, actor: "test")
            let refused = try await hub.login("hal", password: "pw-hal-1", client: "cli", secret: cli)
            #expect(refused.status == 400 && refused.string("error") == "mfa_enrollment_required")

            let browser = TestBrowser()
            let request = CodeRequest(client: "web", redirectURI: Self.app)
            let form = try await browser.request(hub.authorizeURL(request))
            let setUp = try await browser.request(
                hub.baseURL + HubPath.login, method: .POST, form: hiddenFields(form.text) + [("username", "hal"), ("password", "pw-hal-1")])
            #expect(setUp.status == 200 && setUp.text.contains(#"id="totp-secret""#) && setUp.text.contains("<svg"))
            #expect(browser.cookie("hallpass_session") == nil)
            let authenticator = try TestAuthenticator(secretText: try TestAuthenticator.secret(inPage: setUp.text))
            let codesPage = try await browser.request(
                hub.baseURL + "/oauth2/login/enroll", method: .POST, form: hiddenFields(setUp.text) + [("otp", try await authenticator.freshCode())])
            #expect(codesPage.status == 200 && recoveryCodes(inPage: codesPage.text).count == 10)
            #expect(browser.cookie("hallpass_session") != nil)
            let next = try #require(codesPage.text.range(of: #"id="continue" href=""#)).upperBound
            let href = String(codesPage.text[next...].prefix { $0 != "\"" }).replacingOccurrences(of: "&amp;", with: "&")
            let redirect = try await browser.request(hub.baseURL + href)
            let tokens = try HubFixture.tokens(try await hub.exchange(try hub.code(of: redirect, request), request, secret: secret), "enrolled", sourceLocation: #_sourceLocation)
            #expect(try await hub.verifiedClaims(of: tokens.access, audience: "web")["acr"]?.stringValue == "mfa")
            #expect(try await hub.store.user(id: user.id)?.hasSecondFactor == true)
        }
    }

    @Test("bad input on the set-up and code forms (no CSRF, wrong code, garbage or another user's pending sign-in, huge values): 4xx, nothing changes")
    func badInputOnTheForms() async throws {
        try await withHub { hub in
            let user = try await hub.addUser("uma", password: "pw-uma-1")
            try await hub.addUser("vic", password: "pw-vic-1")
            let browser = TestBrowser()
            _ = try await AccountPageTests.signIn(hub, browser, "uma", "pw-uma-1")
            let page = try await browser.request(hub.baseURL + "/account")
            let setUp = try await browser.request(hub.baseURL + "/account/mfa/setup", method: .POST, form: csrfField(page.text))
            let authenticator = try TestAuthenticator(secretText: try TestAuthenticator.secret(inPage: setUp.text))
            let confirm = hub.baseURL + "/account/mfa/confirm"
            #expect(try await browser.request(confirm, method: .POST, form: [("otp", try await authenticator.freshCode())]).status == 403)
            #expect(try await browser.request(confirm, method: .POST, form: csrfField(setUp.text) + [("otp", "12345")]).status == 401)
            #expect(try await browser.request(confirm, method: .POST, form: csrfField(setUp.text) + [("otp", "abcdef")]).status == 401)
            let huge = try await browser.request(confirm, method: .POST, form: csrfField(setUp.text) + [("otp", String(repeating: "9", count: 200_000))])
            #expect(huge.status == 413 && huge.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(try await hub.store.user(id: user.id)?.hasSecondFactor == false)

            // The code form of a sign-in: a made-up pending sign-in, or one of another user's shard.
            let otp = hub.baseURL + "/oauth2/login/otp"
            for pending in ["garbage", user.id + ".AAAA", String(repeating: "p", count: 5000)] {
                let reply = try await browser.request(otp, method: .POST, form: csrfField(page.text) + [("pending", pending), ("otp", "123456")])
                #expect(reply.status == 403 || reply.status == 413)
            }
            #expect(browser.cookie("hallpass_session") != nil, "the account session is untouched")
        }
    }

    @Test("wrong codes count against the login throttle like wrong passwords: the password grant then answers 429")
    func wrongCodesAreThrottled() async throws {
        try await withHub(configure: { $0.loginThrottle = LoginThrottle(perUsername: 3, perAddress: 100, window: 60) }) { hub in
            let user = try await hub.addUser("wes", password: "pw-wes-1")
            let secret = try #require(try await hub.addClient("cli", grants: ["password"]))
            let stored = try SecondFactorSecret.seal(Array("wes-second-factor-12".utf8), userID: user.id, kek: nil)
            try await hub.store.beginEnrollment(userID: user.id, storedSecret: stored)
            #expect(try await hub.store.completeEnrollment(userID: user.id, storedSecret: stored, step: 0, recoveryCodeHashes: ["x"], actor: "test"))
            var statuses: [Int] = []
            for _ in 0..<4 {
                let reply = try await hub.post(
                    HubPath.token, form: [("grant_type", "password"), ("username", "wes"), ("password", "pw-wes-1"), ("otp", "000000")],
                    basic: ("cli", secret))
                statuses.append(reply.status)
                if reply.status == 429 { #expect(reply.header("Retry-After") != nil) }
            }
            // The first attempt counts twice (a right password does not release the attempt of a
            // user with a second factor, and the wrong code is another), so the second is refused.
            #expect(statuses == [400, 429, 429, 429], "\(statuses)")
            let failed = try await hub.store.recentEvents(count: 100).filter { $0.user == user.id && $0.type == "mfa_failed" }
            #expect(failed.count == 1)
        }
    }

    @Test("the device page asks a user with a second factor for the code before the Approve/Deny page, and the device's tokens say mfa")
    func devicePageAsksForTheCode() async throws {
        try await withHub(configure: DeviceFlow.fast) { hub in
            try await hub.addUser("xia", password: "pw-xia-1")
            try await hub.addDeviceClient("tv")
            let (authenticator, _) = try await Self.enroll(hub, browser: TestBrowser(), username: "xia", password: "pw-xia-1")
            let start = try await hub.startDevice(client: "tv")
            let browser = TestBrowser()
            let signIn = try await browser.request(hub.baseURL + DeviceFlow.verificationPath + "?user_code=" + formEncode(start.userCode))
            #expect(signIn.text.contains(#"name="password""#))
            let code = try await browser.request(
                hub.baseURL + DeviceFlow.signInPath, method: .POST, form: hiddenFields(signIn.text) + [("username", "xia"), ("password", "pw-xia-1")])
            #expect(code.status == 200 && code.text.contains(#"name="otp""#) && !code.text.contains(#"name="decision""#))
            let back = try await browser.request(
                hub.baseURL + "/oauth2/login/otp", method: .POST, form: hiddenFields(code.text) + [("otp", try await authenticator.freshCode())])
            let location = try #require(back.header("Location"))
            #expect(back.status == 303 && location.hasPrefix("/device?user_code="))
            let confirm = try await browser.request(hub.baseURL + location)
            #expect(confirm.text.contains(#"name="decision""#))
            let decided = try await browser.request(
                hub.baseURL + DeviceFlow.decisionPath, method: .POST, form: hiddenFields(confirm.text) + [("decision", "approve")])
            #expect(decided.status == 200)
            let tokens = try await hub.pollDevice(start.deviceCode, client: "tv")
            #expect(tokens.status == 200, "\(tokens.text)")
            let claims = try await hub.verifiedClaims(of: try #require(tokens.string("access_token")), audience: "tv")
            #expect(claims["acr"]?.stringValue == "mfa" && claims["preferred_username"]?.stringValue == "xia")
        }
    }
}

