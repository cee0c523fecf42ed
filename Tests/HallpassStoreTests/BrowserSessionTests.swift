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

        // Ended any way, the session's cookie is dead, and nobody can join it or get a code for it.
        try await store.endSession(session.sessionID, reason: "logout", actor: "t")
        #expect(try await store.browserSession(cookie) == nil)
        #expect(try await store.joinSession(sessionID: session.sessionID, clientID: "notes", scope: "openid", actor: "t") == .sessionEnded)
        #expect(try await store.issueAuthorizationCode(record) == nil)
    }

    @Test("a browser session: cookie check, codes, SSO joins, replay revocation, end")
    func browserSessionFlow() async throws {
        try await withStore { fixture in try await Self.flow(fixture.store) }
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
