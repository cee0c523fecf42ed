import HallpassStore
import Testing

/// Found while describing the hub in OpenAPI: a throttled HTML form (429) must carry
/// `Retry-After` like the JSON answers and the login page do (CONTRACT section 4). The account
/// page's sign-in form answered 429 without one.
@Suite("Throttled pages carry Retry-After")
struct ThrottledPageTests {
    @Test("the account page's sign-in form, throttled, is 429 with Retry-After")
    func accountSignIn() async throws {
        try await withHub(configure: { $0.loginThrottle = LoginThrottle(perUsername: 3, perAddress: 100, window: 60) }) { hub in
            try await hub.addUser("quinn", password: "pw-quinn-right")
            let browser = TestBrowser()
            var last: HTTPReply?
            for attempt in 1...4 {
                let form = try await browser.request(hub.baseURL + "/account")
                let password = attempt == 4 ? "pw-quinn-right" : "wrong-\(attempt)"
                last = try await browser.request(
                    hub.baseURL + "/account/login", method: .POST,
                    form: hiddenFields(form.text) + [("username", "quinn"), ("password", password)])
                if attempt < 4 { #expect(last?.status == 401, "attempt \(attempt): \(last?.status ?? 0)") }
            }
            let locked = try #require(last)
            #expect(locked.status == 429, "\(locked.text.prefix(300))")
            #expect(locked.header("Content-Type")?.hasPrefix("text/html") == true)
            let retryAfter = try #require(locked.header("Retry-After").flatMap { Int($0) }, "Retry-After: \(locked.header("Retry-After") ?? "none")")
            #expect((1...60).contains(retryAfter))
        }
    }
}
