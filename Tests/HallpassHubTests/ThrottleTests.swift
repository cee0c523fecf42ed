import HallpassStore
import Testing

@Suite("Login throttling")
struct ThrottleTests {
    @Test("after 3 wrong passwords the 4th attempt, even with the right password, is 429 with Retry-After and a JSON error")
    func lockoutAfterFailedAttempts() async throws {
        try await withHub(configure: { $0.loginThrottle = LoginThrottle(perUsername: 3, perAddress: 100, window: 60) }) { hub in
            try await hub.addUser("victor", password: "pw-victor-right")
            try await hub.addUser("walter", password: "pw-walter-1")
            let secret = try #require(try await hub.addClient("api"))

            var descriptions: Set<String> = []
            for attempt in 1...3 {
                let wrong = try await hub.login("victor", password: "wrong-\(attempt)", client: "api", secret: secret)
                expectError(wrong, status: 400, code: "invalid_grant")
                descriptions.insert(wrong.string("error_description") ?? "")
                #expect(!wrong.text.contains("wrong-\(attempt)"))
            }
            #expect(descriptions.count == 1)

            let locked = try await hub.login("victor", password: "pw-victor-right", client: "api", secret: secret)
            #expect(locked.status == 429, "\(locked.text)")
            #expect(locked.header("Content-Type")?.hasPrefix("application/json") == true)
            #expect(locked.string("error")?.isEmpty == false)
            #expect(locked.string("error_description")?.isEmpty == false)
            #expect(locked["access_token"] == nil)
            #expect(!locked.text.contains("pw-victor-right"))
            let retryAfter = try #require(locked.header("Retry-After").flatMap { Int($0) }, "Retry-After: \(locked.header("Retry-After") ?? "none")")
            #expect((1...60).contains(retryAfter))

            // The lock is per username: another user at the same address still logs in.
            _ = try await hub.loginTokens("walter", password: "pw-walter-1", client: "api", secret: secret)
        }
    }

    @Test("an unknown username gets exactly the error of a wrong password")
    func unknownUsernameLooksLikeWrongPassword() async throws {
        try await withHub { hub in
            try await hub.addUser("xavier", password: "pw-xavier-1")
            let secret = try #require(try await hub.addClient("api"))
            let wrong = try await hub.login("xavier", password: "not-it", client: "api", secret: secret)
            let unknown = try await hub.login("nobody-here", password: "not-it", client: "api", secret: secret)
            expectError(wrong, status: 400, code: "invalid_grant")
            expectError(unknown, status: 400, code: "invalid_grant")
            #expect(wrong.string("error_description") == unknown.string("error_description"))
            #expect(wrong.body == unknown.body)
        }
    }
}
