import HallpassStore
import Testing

@Suite("Browser sessions, authorization codes and SSO joins in the store")
struct BrowserSessionTests {
    static func flow(_ store: HallpassStore) async throws {
        let user = try await store.makeUser("bea-" + String(UInt32.random(in: 0...UInt32.max), radix: 36))
        guard case .started(let session, let cookie, _) = try await store.startBrowserSession(
            userID: user.id, timeouts: SessionTimeouts(), defaultPolicy: .off, actor: "t", remoteAddress: "127.0.0.1")
        else {
            Issue.record("browser login refused")
            return
        }
        // The cookie names the session; a forged one with the same sid does not.
        #expect(try await store.browserSession(cookie)?.sessionID == session.sessionID)
        let forged = try #require(BrowserSessionCookie(parsing: session.sessionID + "." + String(repeating: "a", count: 52)))
        #expect(try await store.browserSession(forged) == nil)
        #expect(try await store.session(id: session.sessionID)?.clients == [])

        // Two clients join the same session through codes; a code is single-use.
        for client in ["notes", "tasks"] {
            let record = AuthorizationCodeRecord(
                sessionID: session.sessionID, clientID: client, redirectURI: "https://\(client).example/cb", codeChallenge: "c",
                nonce: "n", scope: "openid", authTime: session.authTime)
            let code = try #require(try await store.issueAuthorizationCode(record))
            guard case .redeemed(let redeemed, let key) = try await store.consumeAuthorizationCode(code, actor: "t") else {
                Issue.record("code not redeemed")
                return
            }
            #expect(redeemed == record)
            guard case .joined(let grant) = try await store.joinSession(
                sessionID: session.sessionID, clientID: client, scope: "openid", actor: "t", codeKey: key)
            else {
                Issue.record("join refused")
                return
            }
            #expect(grant.userID == user.id && grant.refreshToken.sessionID == session.sessionID)
        }
        #expect(try await store.session(id: session.sessionID)?.clients == ["notes", "tasks"])

        // A replayed code revokes the grant its first use made; the session lives on with the other.
        let record = AuthorizationCodeRecord(
            sessionID: session.sessionID, clientID: "notes", redirectURI: "r", codeChallenge: "", nonce: "", scope: "openid",
            authTime: session.authTime)
        let code = try #require(try await store.issueAuthorizationCode(record))
        guard case .redeemed(_, let key) = try await store.consumeAuthorizationCode(code, actor: "t"),
            case .joined(let grant) = try await store.joinSession(
                sessionID: session.sessionID, clientID: "notes", scope: "openid", actor: "t", codeKey: key)
        else {
            Issue.record("second code refused")
            return
        }
        #expect(try await store.liveGrant(for: grant.refreshToken) != nil)
        #expect(try await store.consumeAuthorizationCode(code, actor: "t") == .replayed)
        #expect(try await store.liveGrant(for: grant.refreshToken) == nil)
        #expect(try await store.session(id: session.sessionID)?.clients == ["tasks"])
        #expect(try await store.consumeAuthorizationCode("garbage", actor: "t") == .invalid)

        // Signing in again keeps the session and replaces the cookie.
        guard case .reauthenticated(_, let fresh) = try await store.reauthenticateBrowserSession(
            cookie, userID: user.id, actor: "t", remoteAddress: "127.0.0.1")
        else {
            Issue.record("re-authentication refused")
            return
        }
        #expect(try await store.browserSession(cookie) == nil)
        #expect(try await store.browserSession(fresh)?.sessionID == session.sessionID)
        #expect(try await store.session(id: session.sessionID)?.clients == ["tasks"])

        // Ended any way, the session's cookie is dead, and nobody can join it or get a code for it.
        try await store.endSession(session.sessionID, reason: "logout", actor: "t")
        #expect(try await store.browserSession(fresh) == nil)
        #expect(try await store.joinSession(sessionID: session.sessionID, clientID: "notes", scope: "openid", actor: "t") == .sessionEnded)
        #expect(try await store.issueAuthorizationCode(record) == nil)
    }

    @Test("a browser session: cookie check, codes, SSO joins, replay revocation, end")
    func browserSessionFlow() async throws {
        try await withStore { fixture in try await Self.flow(fixture.store) }
    }

    @Test("re-authentication keeps the session: new auth time, idle deadline moved, cookie replaced; another user's or an ended session's cookie is no session")
    func reauthentication() async throws {
        try await withStore { fixture in
            let store = fixture.store
            let user = try await store.makeUser("ren")
            let other = try await store.makeUser("ola")
            let timeouts = SessionTimeouts(idle: 60, absolute: 3600)
            guard case .started(let session, let cookie, _) = try await store.startBrowserSession(
                userID: user.id, timeouts: timeouts, defaultPolicy: .denyNew, actor: "t", remoteAddress: "10.0.0.1")
            else {
                Issue.record("browser login refused")
                return
            }
            fixture.clock.advance(seconds: 50)
            #expect(try await store.reauthenticateBrowserSession(cookie, userID: other.id, actor: "t", remoteAddress: "") == .noSession)
            guard case .reauthenticated(let again, let fresh) = try await store.reauthenticateBrowserSession(
                cookie, userID: user.id, actor: "t", remoteAddress: "10.0.0.2")
            else {
                Issue.record("re-authentication refused")
                return
            }
            #expect(again.sessionID == session.sessionID && again.userID == user.id && again.authTime == fixture.clock.seconds)
            #expect(again.authTime == session.authTime + 50)
            #expect(fresh.sessionID == session.sessionID && fresh != cookie)
            #expect(try await store.browserSession(cookie) == nil)
            #expect(try await store.browserSession(fresh) == again)
            #expect(try await store.session(id: session.sessionID)?.authTime == fixture.clock.seconds)
            // The idle deadline counts from the re-authentication: 60 s after the hand clock,
            // which is 50 s ahead of Redis's, so ~110 s of TTL where the login left ~60.
            let key = try fixture.prefix(of: session.sessionID) + "s:" + session.sessionID
            let ttl = try #require(try await fixture.raw("PTTL", key).int)
            #expect(ttl > 60_000 && ttl <= 110_000, "PTTL \(ttl)")
            // The presented cookie must be the current one.
            #expect(try await store.reauthenticateBrowserSession(cookie, userID: user.id, actor: "t", remoteAddress: "") == .noSession)

            try await store.endSession(session.sessionID, reason: "logout", actor: "t")
            #expect(try await store.reauthenticateBrowserSession(fresh, userID: user.id, actor: "t", remoteAddress: "") == .noSession)
        }
    }

    @Test("deny-new refuses a browser login while a session is live")
    func denyNew() async throws {
        try await withStore { fixture in
            let user = try await fixture.store.makeUser("dee")
            _ = try await fixture.store.startBrowserSession(
                userID: user.id, timeouts: SessionTimeouts(), defaultPolicy: .off, actor: "t", remoteAddress: "")
            #expect(try await fixture.store.startBrowserSession(
                userID: user.id, timeouts: SessionTimeouts(), defaultPolicy: .denyNew, actor: "t", remoteAddress: "") == .sessionExists)
        }
    }
}
