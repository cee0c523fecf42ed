import Foundation
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("Account page: sessions with the current one marked, ending sessions, password change, bad input changes nothing")
struct AccountPageTests {
    static let app = "http://127.0.0.1:9/app/callback"

    /// Signs `username` in at the account page in `browser` and returns the page.
    static func signIn(_ hub: HubFixture, _ browser: TestBrowser, _ username: String, _ password: String) async throws -> HTTPReply {
        let form = try await browser.request(hub.baseURL + "/account")
        _ = try await browser.request(
            hub.baseURL + "/account/login", method: .POST, form: hiddenFields(form.text) + [("username", username), ("password", password)])
        let page = try await browser.request(hub.baseURL + "/account")
        try #require(page.status == 200 && page.text.contains("Your account"), "not signed in: \(page.status) \(page.text.prefix(300))")
        return page
    }

    @Test("lists every live session with device, address and apps; ends another one and all others; the current is marked")
    func sessionsListAndEnd() async throws {
        try await withHub(configure: { $0.singleLoginPolicy = .off }) { hub in
            let user = try await hub.addUser("ivy", password: "pw-ivy-1")
            let secret = try await hub.addWebClient("notes", redirect: Self.app)
            let phone = TestBrowser()
            let fromPhone = try await hub.signIn(CodeRequest(client: "notes", redirectURI: Self.app), browser: phone, username: "ivy", password: "pw-ivy-1", secret: secret)
            let laptop = TestBrowser()
            let page = try await Self.signIn(hub, laptop, "ivy", "pw-ivy-1")
            let sessions = try await hub.store.sessions(ofUser: user.id)
            #expect(sessions.count == 2)
            let current = try #require(sessions.first { $0.id != fromPhone.sessionID })
            #expect(page.text.contains(#"aria-current="true" data-sid="\#(current.id)""#))
            #expect(page.text.contains(#"data-sid="\#(fromPhone.sessionID)""#))
            #expect(page.text.contains("notes"), "the apps of a session are listed")
            #expect(page.text.contains("127.0.0.1"))

            // Another user's session id, or garbage: 404, nothing ends.
            let other = try await hub.addUser("jon", password: "pw-jon-1")
            let jonBrowser = TestBrowser()
            _ = try await Self.signIn(hub, jonBrowser, "jon", "pw-jon-1")
            let jonSession = try #require(try await hub.store.sessions(ofUser: other.id).first)
            for target in [jonSession.id, "garbage", String(repeating: "x", count: 5000)] {
                let reply = try await laptop.request(
                    hub.baseURL + "/account/sessions", method: .POST, form: csrfField(page.text) + [("end", target)])
                #expect(reply.status == 404)
            }
            #expect(try await hub.store.sessions(ofUser: other.id).count == 1)
            // Without the CSRF token: 403, nothing ends.
            let forged = try await laptop.request(hub.baseURL + "/account/sessions", method: .POST, form: [("end", fromPhone.sessionID)])
            #expect(forged.status == 403)
            #expect(try await hub.store.sessions(ofUser: user.id).count == 2)

            // End the phone's session: its refresh token stops working at once.
            let ended = try await laptop.request(
                hub.baseURL + "/account/sessions", method: .POST, form: csrfField(page.text) + [("end", fromPhone.sessionID)])
            #expect(ended.status == 303)
            let refused = try await hub.refresh(fromPhone.refresh, client: "notes", secret: secret)
            #expect(refused.status == 400 && refused.string("error") == "invalid_grant")
            #expect(try await hub.store.sessions(ofUser: user.id).map(\.id) == [current.id])
            let events = try await hub.store.recentEvents(count: 100).filter { $0.session == fromPhone.sessionID }
            #expect(events.contains { $0.type == "session_ended" && $0.actor == "user:" + user.id })
        }
    }

    @Test("password change: a wrong current password changes nothing; a right one ends the other sessions unless unticked")
    func changePassword() async throws {
        try await withHub(configure: { $0.singleLoginPolicy = .off }) { hub in
            let user = try await hub.addUser("kim", password: "pw-kim-1")
            let cli = try await hub.addClient("cli", grants: ["password", "refresh_token"])
            let elsewhere = try await hub.loginTokens("kim", password: "pw-kim-1", client: "cli", secret: cli)
            let browser = TestBrowser()
            let page = try await Self.signIn(hub, browser, "kim", "pw-kim-1")
            let csrf = csrfField(page.text)
            let wrong = try await browser.request(
                hub.baseURL + "/account/password", method: .POST,
                form: csrf + [("current_password", "nope"), ("new_password", "pw-kim-2-long"), ("end_others", "1")])
            #expect(wrong.status == 401)
            let short = try await browser.request(
                hub.baseURL + "/account/password", method: .POST, form: csrf + [("current_password", "pw-kim-1"), ("new_password", "short")])
            #expect(short.status == 400)
            #expect(try await hub.login("kim", password: "pw-kim-1", client: "cli", secret: cli).status == 200)

            let changed = try await browser.request(
                hub.baseURL + "/account/password", method: .POST,
                form: csrf + [("current_password", "pw-kim-1"), ("new_password", "pw-kim-2-long"), ("end_others", "1")])
            #expect(changed.status == 303 && changed.header("Location") == "/account?done=password-others")
            #expect(try await hub.login("kim", password: "pw-kim-1", client: "cli", secret: cli).status == 400)
            #expect(try await hub.refresh(elsewhere.refresh, client: "cli", secret: cli).status == 400)
            // This browser's session lives on.
            let after = try await browser.request(hub.baseURL + "/account?done=password-others")
            #expect(after.status == 200 && after.text.contains("Your password was changed and your other sessions were ended"))
            let events = try await hub.store.recentEvents(count: 100).filter { $0.user == user.id }.map(\.type)
            #expect(events.contains("password_changed"))
        }
    }

    @Test("turning the second factor off needs a current code; users mfa reset removes it")
    func turnOffAndReset() async throws {
        try await withHub { hub in
            let user = try await hub.addUser("lea", password: "pw-lea-1")
            let browser = TestBrowser()
            let (authenticator, _) = try await SecondFactorTests.enroll(hub, browser: browser, username: "lea", password: "pw-lea-1")
            let page = try await browser.request(hub.baseURL + "/account")
            #expect(page.text.contains("Recovery codes left: 10"))
            let csrf = csrfField(page.text)
            let refused = try await browser.request(hub.baseURL + "/account/mfa/disable", method: .POST, form: csrf + [("otp", "000000")])
            #expect(refused.status == 401)
            #expect(try await hub.store.user(id: user.id)?.hasSecondFactor == true)
            let fresh = try await browser.request(
                hub.baseURL + "/account/mfa/recovery-codes", method: .POST, form: csrf + [("otp", try await authenticator.freshCode())])
            #expect(recoveryCodes(inPage: fresh.text).count == 10)
            let off = try await browser.request(
                hub.baseURL + "/account/mfa/disable", method: .POST, form: csrf + [("otp", try await authenticator.freshCode())])
            #expect(off.status == 303)
            #expect(try await hub.store.user(id: user.id)?.hasSecondFactor == false)
            #expect(try await hub.store.secondFactor(ofUser: user.id) == nil)
            // An administrator's reset of a user without one reports that.
            #expect(try await hub.store.removeSecondFactor(userID: user.id, event: "mfa_reset", actor: "test") == false)
            let events = try await hub.store.recentEvents(count: 100).filter { $0.user == user.id }.map(\.type)
            #expect(events.contains("mfa_disabled") && events.contains("recovery_codes_regenerated"))
        }
    }
}
