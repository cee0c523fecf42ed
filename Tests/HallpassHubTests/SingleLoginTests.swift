import HallpassStore
import Testing

@Suite("Single-login policy: newest-wins, deny-new, off, and where the policy comes from")
struct SingleLoginTests {
    @Test("newest-wins: a second login ends the first session at once")
    func newestWinsEndsTheEarlierSession() async throws {
        try await withHub(configure: { $0.singleLoginPolicy = .newestWins }) { hub in
            let user = try await hub.addUser("frank", password: "pw-frank-1")
            let secret = try #require(try await hub.addClient("api"))
            let first = try await hub.loginTokens("frank", password: "pw-frank-1", client: "api", secret: secret)
            let second = try await hub.loginTokens("frank", password: "pw-frank-1", client: "api", secret: secret)

            expectError(try await hub.refresh(first.refresh, client: "api", secret: secret), status: 400, code: "invalid_grant")
            #expect(try await hub.isActive(first.access, client: "api", secret: secret) == false)
            #expect(try await hub.isActive(second.access, client: "api", secret: secret))
            _ = try await hub.refreshTokens(second.refresh, client: "api", secret: secret)
            #expect(try await hub.store.sessions(ofUser: user.id).map(\.id) == [second.sessionID])
            #expect(try await hub.store.recentEvents(count: 100).contains {
                $0.type == "session_ended" && $0.session == first.sessionID && $0.detail == "single_login"
            })
        }
    }

    @Test("deny-new: a second login is refused with session_exists, and refusals do not count toward the login throttle")
    func denyNewRefusesWithoutThrottling() async throws {
        try await withHub(configure: {
            $0.singleLoginPolicy = .denyNew
            $0.loginThrottle = LoginThrottle(perUsername: 2, perAddress: 100, window: 60)
        }) { hub in
            let user = try await hub.addUser("grace", password: "pw-grace-1")
            let secret = try #require(try await hub.addClient("api"))
            let first = try await hub.loginTokens("grace", password: "pw-grace-1", client: "api", secret: secret)

            // More refusals than the per-username limit: each is session_exists, never 429.
            for _ in 0..<3 {
                let refused = try await hub.login("grace", password: "pw-grace-1", client: "api", secret: secret)
                expectError(refused, status: 400, code: "session_exists")
                #expect(refused.header("Retry-After") == nil)
            }
            #expect(try await hub.isActive(first.access, client: "api", secret: secret))
            let kept = try await hub.refreshTokens(first.refresh, client: "api", secret: secret)
            #expect(try await hub.store.sessions(ofUser: user.id).map(\.id) == [first.sessionID])

            // Once the session is over, a login is allowed again.
            #expect(try await hub.logout(bearer: kept.access).status == 204)
            let again = try await hub.loginTokens("grace", password: "pw-grace-1", client: "api", secret: secret)
            #expect(try await hub.store.sessions(ofUser: user.id).map(\.id) == [again.sessionID])
        }
    }

    @Test("off: two logins give two live sessions")
    func offAllowsParallelSessions() async throws {
        try await withHub(configure: { $0.singleLoginPolicy = .off }) { hub in
            let user = try await hub.addUser("heidi", password: "pw-heidi-1")
            let secret = try #require(try await hub.addClient("api"))
            let first = try await hub.loginTokens("heidi", password: "pw-heidi-1", client: "api", secret: secret)
            let second = try await hub.loginTokens("heidi", password: "pw-heidi-1", client: "api", secret: secret)

            #expect(first.sessionID != second.sessionID)
            for tokens in [first, second] {
                #expect(try await hub.isActive(tokens.access, client: "api", secret: secret))
                _ = try await hub.refreshTokens(tokens.refresh, client: "api", secret: secret)
            }
            #expect(Set(try await hub.store.sessions(ofUser: user.id).map(\.id)) == [first.sessionID, second.sessionID])
        }
    }

    @Test("the global policy in Redis overrides the hub's flag; a user's own policy overrides the global one; clearing it falls back")
    func policyPrecedence() async throws {
        try await withHub(configure: { $0.singleLoginPolicy = .newestWins }) { hub in
            let ivan = try await hub.addUser("ivan", password: "pw-ivan-1")
            let judy = try await hub.addUser("judy", password: "pw-judy-1")
            let secret = try #require(try await hub.addClient("api"))

            // Global off beats the hub's newest-wins.
            try await hub.store.setGlobalSingleLoginPolicy(.off, actor: "test")
            let i1 = try await hub.loginTokens("ivan", password: "pw-ivan-1", client: "api", secret: secret)
            let i2 = try await hub.loginTokens("ivan", password: "pw-ivan-1", client: "api", secret: secret)
            #expect(try await hub.isActive(i1.access, client: "api", secret: secret))
            #expect(Set(try await hub.store.sessions(ofUser: ivan.id).map(\.id)) == [i1.sessionID, i2.sessionID])

            // Global deny-new.
            try await hub.store.setGlobalSingleLoginPolicy(.denyNew, actor: "test")
            let j1 = try await hub.loginTokens("judy", password: "pw-judy-1", client: "api", secret: secret)
            expectError(
                try await hub.login("judy", password: "pw-judy-1", client: "api", secret: secret), status: 400, code: "session_exists")

            // Judy's own newest-wins beats the global deny-new.
            try await hub.store.setSingleLoginPolicy(.newestWins, forUser: judy.id, actor: "test")
            let j2 = try await hub.loginTokens("judy", password: "pw-judy-1", client: "api", secret: secret)
            expectError(try await hub.refresh(j1.refresh, client: "api", secret: secret), status: 400, code: "invalid_grant")
            #expect(try await hub.store.sessions(ofUser: judy.id).map(\.id) == [j2.sessionID])

            // Cleared: the global deny-new applies to her again.
            try await hub.store.setSingleLoginPolicy(nil, forUser: judy.id, actor: "test")
            expectError(
                try await hub.login("judy", password: "pw-judy-1", client: "api", secret: secret), status: 400, code: "session_exists")
            #expect(try await hub.isActive(j2.access, client: "api", secret: secret))

            // A user's off beats the global deny-new too.
            try await hub.store.setSingleLoginPolicy(.off, forUser: judy.id, actor: "test")
            let j3 = try await hub.loginTokens("judy", password: "pw-judy-1", client: "api", secret: secret)
            #expect(Set(try await hub.store.sessions(ofUser: judy.id).map(\.id)) == [j2.sessionID, j3.sessionID])
        }
    }
}
