import HallpassStore
import Testing

@Suite("Ending sessions: API logout and disabled users")
struct SessionEndTests {
    @Test("POST end-session with a bearer token answers 204 and ends the session: refresh fails, tokens are inactive, userinfo is 401")
    func bearerLogoutEndsTheSession() async throws {
        try await withHub { hub in
            let user = try await hub.addUser("mallory", password: "pw-mallory-1", name: "Mallory")
            let secret = try #require(try await hub.addClient("api"))
            let tokens = try await hub.loginTokens("mallory", password: "pw-mallory-1", client: "api", secret: secret)
            let before = try await hub.userinfo(bearer: tokens.access)
            #expect(before.status == 200)
            #expect(before.string("sub") == user.id)
            #expect(before.string("preferred_username") == "mallory")
            // The scheme is case-insensitive (RFC 9110 section 11.1) and spaces around the token
            // do not belong to it.
            let spaced = try await hub.post(HubPath.userinfo, form: [], headers: [("Authorization", "bEaReR   \(tokens.access)  ")])
            #expect(spaced.status == 200)
            #expect(spaced.string("sub") == user.id)

            let logout = try await hub.logout(bearer: tokens.access)
            #expect(logout.status == 204)
            #expect(logout.body.isEmpty)

            expectError(try await hub.refresh(tokens.refresh, client: "api", secret: secret), status: 400, code: "invalid_grant")
            #expect(try await hub.isActive(tokens.access, client: "api", secret: secret) == false)
            #expect(try await hub.isActive(tokens.refresh, client: "api", secret: secret) == false)
            let after = try await hub.userinfo(bearer: tokens.access)
            expectError(after, status: 401, code: "invalid_token")
            let challenge = try #require(after.header("WWW-Authenticate"))
            #expect(challenge.hasPrefix("Bearer "))
            #expect(challenge.contains("error=\"invalid_token\""))
            #expect(try await hub.store.sessions(ofUser: user.id).isEmpty)
            #expect(try await hub.store.recentEvents(count: 100).contains {
                $0.type == "session_ended" && $0.session == tokens.sessionID && $0.detail == "logout"
            })

            // The ended session's token cannot log out again.
            expectError(try await hub.logout(bearer: tokens.access), status: 401, code: "invalid_token")
        }
    }

    @Test("API end-session with a garbage bearer token is 401 invalid_token with a Bearer challenge")
    func logoutNeedsAValidBearer() async throws {
        try await withHub { hub in
            // (A POST with no Authorization header at all is the browser form of end-session:
            // BrowserFlowTests covers it.)
            for bearer in ["garbage", "a.b.c", String(repeating: "x", count: 9000)] as [String?] {
                let reply = try await hub.logout(bearer: bearer)
                expectError(reply, status: 401, code: "invalid_token")
                #expect(reply.header("WWW-Authenticate")?.hasPrefix("Bearer ") == true)
            }
            // Basic credentials are not a bearer token.
            let basic = try await hub.post(HubPath.endSession, form: [], basic: ("api", "secret"))
            expectError(basic, status: 401, code: "invalid_token")
            expectError(try await hub.userinfo(bearer: nil), status: 401, code: "invalid_token")
            // A Bearer header with no token, or another scheme that merely starts alike.
            for header in ["Bearer", "Bearer    ", "Bearerx abc"] {
                let reply = try await hub.post(HubPath.endSession, form: [], headers: [("Authorization", header)])
                expectError(reply, status: 401, code: "invalid_token")
            }
        }
    }

    @Test("disabling a user voids their live tokens, stops refreshes and logins; enabling lets them log in again")
    func disabledUser() async throws {
        try await withHub { hub in
            let user = try await hub.addUser("niaj", password: "pw-niaj-1")
            let secret = try #require(try await hub.addClient("api"))
            let tokens = try await hub.loginTokens("niaj", password: "pw-niaj-1", client: "api", secret: secret)

            #expect(try await hub.store.disableUser(user.id, actor: "test") == 1)

            #expect(try await hub.isActive(tokens.access, client: "api", secret: secret) == false)
            #expect(try await hub.isActive(tokens.refresh, client: "api", secret: secret) == false)
            expectError(try await hub.userinfo(bearer: tokens.access), status: 401, code: "invalid_token")
            expectError(try await hub.refresh(tokens.refresh, client: "api", secret: secret), status: 400, code: "invalid_grant")
            expectError(
                try await hub.login("niaj", password: "pw-niaj-1", client: "api", secret: secret), status: 400, code: "invalid_grant")

            try await hub.store.enableUser(user.id, actor: "test")
            // Logging in again at once (in the very second of the disable) must give tokens
            // that are live, not void under the disable's watermark.
            let again = try await hub.loginTokens("niaj", password: "pw-niaj-1", client: "api", secret: secret)
            #expect(try await hub.isActive(again.access, client: "api", secret: secret))
            #expect(try await hub.userinfo(bearer: again.access).status == 200)
            _ = try await hub.refreshTokens(again.refresh, client: "api", secret: secret)
            // The tokens from before the disable stay void.
            #expect(try await hub.isActive(tokens.access, client: "api", secret: secret) == false)
        }
    }
}
