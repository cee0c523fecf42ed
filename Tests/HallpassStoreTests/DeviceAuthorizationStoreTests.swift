import HallpassRedis
import HallpassTestSupport
import Testing

@testable import HallpassStore

@Suite("Device authorization records (RFC 8628)")
struct DeviceAuthorizationStoreTests {
    /// The whole life of device authorizations against `fixture`'s store: polling, slow_down,
    /// approval, single use, denial, expiry and what Redis holds. Also run on a cluster node.
    static func flow(_ fixture: StoreFixture) async throws {
        let store = fixture.store
        let clock = fixture.clock
        let user = try await store.makeUser("dee-" + String(UInt32.random(in: 0...UInt32.max), radix: 36))
        guard case .started(let session, _, _) = try await store.startBrowserSession(
            userID: user.id, timeouts: SessionTimeouts(), defaultPolicy: .off, actor: "t", remoteAddress: "127.0.0.1")
        else {
            Issue.record("browser login refused")
            return
        }
        let started = try await store.startDeviceAuthorization(
            clientID: "tv", scope: "openid profile", lifetime: 600_000, interval: 5, actor: "t")
        #expect(started.deviceCode.utf8.count == 52)
        func poll(_ client: String = "tv", _ code: String? = nil) async throws -> DevicePoll {
            try await store.pollDeviceAuthorization(
                deviceCode: code ?? started.deviceCode, clientID: client, slowDownIncrement: 5, tolerance: 200, actor: "t")
        }

        // What the page sees, typed in any case, with or without the dash.
        let typed = try #require(UserCode(parsing: started.userCode.normalized.lowercased()))
        let pending = try #require(try await store.pendingDeviceAuthorization(typed))
        #expect(pending.clientID == "tv" && pending.scope == "openid profile")

        // The first poll may come at once; then each must wait the interval, which grows by 5 s
        // with every poll that comes too soon.
        #expect(try await poll() == .pending)
        clock.advance(seconds: 1)
        #expect(try await poll() == .slowDown(interval: 10))
        clock.advance(seconds: 6)
        #expect(try await poll() == .slowDown(interval: 15))
        clock.advance(seconds: 15)
        #expect(try await poll() == .pending)
        // Another client's poll, or an unknown code, finds nothing and changes nothing.
        #expect(try await poll("other") == .invalid)
        #expect(try await poll("tv", String(repeating: "a", count: 52)) == .invalid)
        #expect(try await poll("tv", "short") == .invalid)

        // Approval binds the session; the user code is used up.
        #expect(try await store.decideDeviceAuthorization(started.userCode, .approve(session), actor: "t") == "tv")
        #expect(try await store.pendingDeviceAuthorization(started.userCode) == nil)
        #expect(try await store.decideDeviceAuthorization(started.userCode, .deny(userID: user.id, sessionID: session.sessionID), actor: "t") == nil)
        #expect(try await poll("other") == .invalid)
        guard case .approved(let approved) = try await poll() else {
            Issue.record("the approved authorization was not handed out")
            return
        }
        #expect(approved == ApprovedDeviceAuthorization(sessionID: session.sessionID, userID: user.id, scope: "openid profile", authTime: session.authTime))
        #expect(try await poll() == .used(sessionID: session.sessionID, grantID: ""))
        guard case .joined(let grant) = try await store.joinSession(sessionID: approved.sessionID, clientID: "tv", scope: approved.scope, actor: "t") else {
            Issue.record("the device did not join the session")
            return
        }
        #expect(try await store.session(id: session.sessionID)?.clients == ["tv"])
        // Once the grant is bound, a replay names it, and revoking it ends the session (its only grant).
        try await store.bindDeviceGrant(deviceCode: started.deviceCode, grantID: grant.refreshToken.grantID)
        #expect(try await poll() == .used(sessionID: session.sessionID, grantID: grant.refreshToken.grantID))
        #expect(try await store.revokeReplayedDeviceGrant(sessionID: session.sessionID, clientID: "other", grantID: grant.refreshToken.grantID, actor: "t") == false)
        #expect(try await store.revokeReplayedDeviceGrant(sessionID: session.sessionID, clientID: "tv", grantID: "x", actor: "t") == false)
        #expect(try await store.revokeReplayedDeviceGrant(sessionID: session.sessionID, clientID: "tv", grantID: grant.refreshToken.grantID, actor: "t"))
        #expect(try await store.session(id: session.sessionID) == nil)

        // Denied: the device hears so, every time.
        let denied = try await store.startDeviceAuthorization(clientID: "tv", scope: "openid", lifetime: 600_000, interval: 5, actor: "t")
        #expect(try await store.decideDeviceAuthorization(denied.userCode, .deny(userID: user.id, sessionID: session.sessionID), actor: "t") == "tv")
        #expect(try await poll("tv", denied.deviceCode) == .denied)
        #expect(try await poll("tv", denied.deviceCode) == .denied)

        // Expired: the device hears expired_token, and the user code no longer works.
        let late = try await store.startDeviceAuthorization(clientID: "tv", scope: "openid", lifetime: 600_000, interval: 5, actor: "t")
        clock.advance(seconds: 601)
        #expect(try await poll("tv", late.deviceCode) == .expired)
        #expect(try await store.pendingDeviceAuthorization(late.userCode) == nil)
        #expect(try await store.decideDeviceAuthorization(late.userCode, .approve(session), actor: "t") == nil)
        #expect(try await poll("tv", late.deviceCode) == .expired)

        // Redis holds digests only: neither code appears in a key name or a stored value.
        let keys = try #require(try await fixture.raw("KEYS", "hp:{hg}:*").array?.compactMap(\.string))
        #expect(keys.contains { $0.hasPrefix("hp:{hg}:dc:") })
        for key in keys where key.hasPrefix("hp:{hg}:dc:") || key.hasPrefix("hp:{hg}:uc:") {
            let type = try await fixture.raw("TYPE", key).string
            let stored = type == "hash" ? "\(try await fixture.raw("HGETALL", key))" : "\(try await fixture.raw("GET", key))"
            for code in [started, denied, late] {
                #expect(!key.contains(code.deviceCode) && !stored.contains(code.deviceCode))
                #expect(!key.contains(code.userCode.normalized) && !stored.contains(code.userCode.normalized))
            }
        }
    }

    @Test("a device authorization is polled, slowed down, approved once, denied and expires")
    func lifecycle() async throws {
        try await withStore { fixture in try await Self.flow(fixture) }
    }

    @Test("the device authorization scripts run on a Redis Cluster node (each within one hash slot)")
    func onClusterNode() async throws {
        try await ClusterTests().withClusterStore { fixture in try await Self.flow(fixture) }
    }

    @Test("user codes: 8 consonants shown as XXXX-XXXX, parsed in any case with or without the dash, garbage refused")
    func userCodes() throws {
        var seen: Set<String> = []
        for _ in 0..<200 {
            let code = try UserCode.generate()
            #expect(code.normalized.utf8.count == 8)
            #expect(code.normalized.utf8.allSatisfy(UserCode.alphabet.contains))
            #expect(code.display.utf8.count == 9 && code.display.dropFirst(4).first == "-")
            #expect(UserCode(parsing: code.display) == code)
            #expect(UserCode(parsing: code.normalized.lowercased()) == code)
            #expect(UserCode(parsing: " " + code.display.lowercased() + " ") == code)
            #expect("\(code)" == "UserCode(redacted)")
            seen.insert(code.normalized)
        }
        #expect(seen.count > 195)
        for garbage in ["", "BCDF-GHJ", "BCDF-GHJKL", "BCDF-GHJA", "BCDF-GHJ1", "<script>", String(repeating: "B", count: 100), "ＢＣＤＦ-ＧＨＪＫ"] {
            #expect(UserCode(parsing: garbage) == nil, "\(garbage)")
        }
    }

    @Test("wrong user codes are throttled per address; a right code's reservation is taken back")
    func throttle() async throws {
        try await withStore { fixture in
            let store = fixture.store
            for _ in 0..<5 {
                #expect(try await store.reserveUserCodeAttempt(address: "192.0.2.7", limit: 3, window: 60) == nil)
                try await store.releaseUserCodeAttempt(address: "192.0.2.7")
            }
            for _ in 0..<3 { #expect(try await store.reserveUserCodeAttempt(address: "192.0.2.7", limit: 3, window: 60) == nil) }
            let wait = try #require(try await store.reserveUserCodeAttempt(address: "192.0.2.7", limit: 3, window: 60))
            #expect((1...60_000).contains(wait))
            #expect(try await store.reserveUserCodeAttempt(address: "192.0.2.8", limit: 3, window: 60) == nil)
        }
    }
}
