import HallpassHub
import HallpassJOSE
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Logging
import Synchronization
import Testing

/// OIDC Back-Channel Logout 1.0: every way a session ends sends a logout token to each client of
/// the session that registered a URI, from the durable queue in Redis.
@Suite("Back-channel logout")
struct BackchannelLogoutTests {
    /// Fast polling and retries, so the tests run in well under a second each.
    static func fast(_ configuration: inout HubConfiguration) {
        configuration.backchannelLogout.pollInterval = 20
        configuration.backchannelLogout.sweepInterval = 50
        configuration.backchannelLogout.initialBackoff = 50
        configuration.backchannelLogout.maximumBackoff = 200
        configuration.backchannelLogout.requestTimeout = 2000
        configuration.refreshGrace = 0
    }

    /// A running receiver and a confidential client registered with its URI.
    struct App {
        let id: String
        let secret: String
        let receiver: LogoutReceiver
    }

    static func app(_ id: String, at hub: HubFixture, start: Bool = true) async throws -> App {
        let receiver = try LogoutReceiver()
        if start { try await receiver.start() }
        let secret = try await hub.store.createClient(
            id: id, confidential: true, backchannelLogoutURI: receiver.uri, grantTypes: ["password", "refresh_token"],
            actor: "test"
        ).secret
        return App(id: id, secret: try #require(secret), receiver: receiver)
    }

    /// Waits until `receiver` acknowledged `count` logout tokens; returns them.
    static func tokens(_ receiver: LogoutReceiver, count: Int = 1, seconds: Double = 20) async throws -> [String] {
        try await waitUntil("\(count) logout token(s) at \(receiver.port)", seconds: seconds, toleratingErrors: true) { receiver.acknowledged.count >= count }
        return receiver.acknowledged.compactMap(\.logoutToken)
    }

    /// Verifies a logout token against the hub's JWKS, per OIDC Back-Channel Logout 1.0
    /// section 2.4; returns its claims.
    @discardableResult
    static func verify(
        _ token: String, hub: HubFixture, audience: String, sessionID: String, userID: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> JWTClaims {
        let jwks = try await hub.get(HubPath.jwks)
        let keys = try VerificationKeys(jwks: JWKSet(jsonBytes: jwks.body))
        let configuration = JWTValidator.Configuration(issuer: hub.configuration.issuer, audience: audience, requiredType: "logout+jwt")
        let verified = try JWTValidator(configuration: configuration, keys: keys).validate(token)
        let claims = verified.claims
        #expect(verified.header["typ"]?.stringValue == "logout+jwt", sourceLocation: sourceLocation)
        #expect(claims["sid"]?.stringValue == sessionID, sourceLocation: sourceLocation)
        #expect(claims.subject == userID, sourceLocation: sourceLocation)
        #expect(claims.audience == [audience], sourceLocation: sourceLocation)
        #expect(claims["nonce"] == nil, sourceLocation: sourceLocation)
        #expect(claims.tokenID?.isEmpty == false, sourceLocation: sourceLocation)
        let events = claims["events"]?.objectValue
        #expect(events?.count == 1, sourceLocation: sourceLocation)
        #expect(events?["http://schemas.openid.net/event/backchannel-logout"] == .object([:]), sourceLocation: sourceLocation)
        let iat = try #require(claims.issuedAt, sourceLocation: sourceLocation)
        let exp = try #require(claims.expiresAt, sourceLocation: sourceLocation)
        #expect(exp > iat && exp - iat <= 120, sourceLocation: sourceLocation)
        return claims
    }

    /// The reason of the `session_ended` event of `sid`.
    static func endReason(_ sid: String, hub: HubFixture) async throws -> String? {
        try await hub.store.recentEvents(count: 200).first { $0.type == "session_ended" && $0.session == sid }?.detail
    }

    @Test("the end-session endpoint: the session's app gets a valid logout token; an app without a URI gets nothing")
    func endSessionEndpoint() async throws {
        try await withHub(configure: Self.fast) { hub in
            let user = try await hub.addUser("ada", password: "pw-ada-1")
            let notes = try await Self.app("notes", at: hub)
            let tokens = try await hub.loginTokens("ada", password: "pw-ada-1", client: "notes", secret: notes.secret)
            #expect(try await hub.logout(bearer: tokens.access).status == 204)
            let received = try await Self.tokens(notes.receiver)
            #expect(received.count == 1)
            #expect(notes.receiver.acknowledged.first?.contentType == "application/x-www-form-urlencoded")
            try await Self.verify(received[0], hub: hub, audience: "notes", sessionID: tokens.sessionID, userID: user.id)
            try await waitUntil("delivered status", seconds: 20, toleratingErrors: true) {
                try await hub.store.logoutDeliveries(sessionIDs: [tokens.sessionID]).map(\.state) == [.delivered]
            }

            // A client without a back-channel URI: its delivery is dropped, nothing is sent.
            let apiSecret = try #require(try await hub.addClient("api"))
            let other = try await hub.loginTokens("ada", password: "pw-ada-1", client: "api", secret: apiSecret)
            #expect(try await hub.logout(bearer: other.access).status == 204)
            try await waitUntil("queue drained", seconds: 20, toleratingErrors: true) { try await hub.store.logoutQueueDepth() == 0 }
            #expect(try await hub.store.logoutDeliveries(sessionIDs: [other.sessionID]).isEmpty)
            #expect(notes.receiver.hits == 1)
            let metrics = PrometheusText(try await hub.get("/metrics").text)
            #expect(metrics.sum("hallpass_backchannel_logout_deliveries_total", ["result": "delivered"]) == 1)
            #expect(metrics.sum("hallpass_backchannel_logout_deliveries_total", ["result": "skipped"]) == 1)
            #expect(metrics.series("hallpass_backchannel_logout_queue_depth").isEmpty == false)
        }
    }

    @Test("a forced logout of every session (hallpass logout) notifies each app of each session")
    func forcedLogout() async throws {
        try await withHub(configure: Self.fast) { hub in
            let user = try await hub.addUser("bob", password: "pw-bob-1")
            try await hub.store.setSingleLoginPolicy(.off, forUser: user.id, actor: "test")
            let notes = try await Self.app("notes", at: hub)
            let tasks = try await Self.app("tasks", at: hub)
            let first = try await hub.loginTokens("bob", password: "pw-bob-1", client: "notes", secret: notes.secret)
            let second = try await hub.loginTokens("bob", password: "pw-bob-1", client: "tasks", secret: tasks.secret)
            let ended = try await hub.store.endSessionsReturningIDs(
                ofUser: user.id, reason: "forced_logout", actor: "cli:test", revokeIssuedTokens: true)
            #expect(Set(ended) == [first.sessionID, second.sessionID])
            let atNotes = try await Self.tokens(notes.receiver)
            let atTasks = try await Self.tokens(tasks.receiver)
            try await Self.verify(atNotes[0], hub: hub, audience: "notes", sessionID: first.sessionID, userID: user.id)
            try await Self.verify(atTasks[0], hub: hub, audience: "tasks", sessionID: second.sessionID, userID: user.id)
            #expect(try await Self.endReason(first.sessionID, hub: hub) == "forced_logout")
        }
    }

    @Test("sessions revoke (one session) notifies its app")
    func sessionRevoke() async throws {
        try await withHub(configure: Self.fast) { hub in
            let user = try await hub.addUser("cy", password: "pw-cy-1")
            let notes = try await Self.app("notes", at: hub)
            let tokens = try await hub.loginTokens("cy", password: "pw-cy-1", client: "notes", secret: notes.secret)
            #expect(try await hub.store.endSession(tokens.sessionID, reason: "revoked", actor: "cli:test") == user.id)
            try await Self.verify(
                try await Self.tokens(notes.receiver)[0], hub: hub, audience: "notes", sessionID: tokens.sessionID, userID: user.id)
        }
    }

    @Test("users disable notifies the apps of the user's sessions")
    func userDisabled() async throws {
        try await withHub(configure: Self.fast) { hub in
            let user = try await hub.addUser("dee", password: "pw-dee-1")
            let notes = try await Self.app("notes", at: hub)
            let tokens = try await hub.loginTokens("dee", password: "pw-dee-1", client: "notes", secret: notes.secret)
            #expect(try await hub.store.disableUser(user.id, actor: "cli:test") == 1)
            try await Self.verify(
                try await Self.tokens(notes.receiver)[0], hub: hub, audience: "notes", sessionID: tokens.sessionID, userID: user.id)
            #expect(try await Self.endReason(tokens.sessionID, hub: hub) == "user_disabled")
        }
    }

    @Test("single-login eviction (newest-wins) notifies the app of the evicted session only")
    func singleLoginEviction() async throws {
        try await withHub(configure: Self.fast) { hub in
            let user = try await hub.addUser("eve", password: "pw-eve-1")
            let notes = try await Self.app("notes", at: hub)
            let tasks = try await Self.app("tasks", at: hub)
            let first = try await hub.loginTokens("eve", password: "pw-eve-1", client: "notes", secret: notes.secret)
            let second = try await hub.loginTokens("eve", password: "pw-eve-1", client: "tasks", secret: tasks.secret)
            try await Self.verify(
                try await Self.tokens(notes.receiver)[0], hub: hub, audience: "notes", sessionID: first.sessionID, userID: user.id)
            #expect(try await Self.endReason(first.sessionID, hub: hub) == "single_login")
            try await Task.sleep(for: .milliseconds(200))
            #expect(tasks.receiver.hits == 0)
            #expect(try await hub.store.session(id: second.sessionID) != nil)
        }
    }

    @Test("refresh-token reuse ends the session and notifies its app")
    func refreshReuse() async throws {
        try await withHub(configure: Self.fast) { hub in
            let user = try await hub.addUser("fay", password: "pw-fay-1")
            let notes = try await Self.app("notes", at: hub)
            let tokens = try await hub.loginTokens("fay", password: "pw-fay-1", client: "notes", secret: notes.secret)
            _ = try await hub.refreshTokens(tokens.refresh, client: "notes", secret: notes.secret)
            try await Task.sleep(for: .milliseconds(20))
            #expect(try await hub.refresh(tokens.refresh, client: "notes", secret: notes.secret).status == 400)
            try await Self.verify(
                try await Self.tokens(notes.receiver)[0], hub: hub, audience: "notes", sessionID: tokens.sessionID, userID: user.id)
            #expect(try await Self.endReason(tokens.sessionID, hub: hub) == "refresh_reuse")
        }
    }

    @Test("a session that times out (idle, then absolute) is ended by the sweep and its app notified", arguments: [
        ("idle_timeout", SessionTimeouts(idle: 1, absolute: 60)), ("absolute_timeout", SessionTimeouts(idle: 60, absolute: 1)),
    ])
    func expiry(reason: String, timeouts: SessionTimeouts) async throws {
        try await withHub(configure: Self.fast) { hub in
            let user = try await hub.addUser("gus", password: "pw-gus-1")
            let notes = try await Self.app("notes", at: hub)
            let outcome = try await hub.store.startSession(
                userID: user.id, clientID: "notes", scope: "openid", timeouts: timeouts, defaultPolicy: .newestWins,
                actor: "test", remoteAddress: "127.0.0.1")
            guard case .started(let session) = outcome else {
                Issue.record("login failed: \(outcome)")
                return
            }
            #expect(notes.receiver.hits == 0)
            // The wait is long because the whole suite runs at once on a 2-core CI machine; the
            // sweep runs every 50 ms, so on a quiet one the token arrives about a second in.
            let received: [String]
            do {
                received = try await Self.tokens(notes.receiver, seconds: 60)
            } catch {
                // Say where it stopped: was the session ended, and what became of the delivery?
                let prefix = StoreSchema.shardPrefix(try #require(StoreSchema.shard(of: session.sessionID)))
                let events = try await hub.store.recentEvents(count: 200).filter { $0.session == session.sessionID }.map(\.type)
                let deliveries = try await hub.store.logoutDeliveries(sessionIDs: [session.sessionID])
                let redis = try testRedisClient(url: hub.redis.url)
                defer { Task { await redis.shutdown() } }
                let ttl = try await redis.send(RedisCommand("PTTL", prefix + "s:" + session.sessionID))
                let deadline = try await redis.send(RedisCommand("ZSCORE", prefix + "sx", session.sessionID))
                Issue.record("no logout token: events \(events), deliveries \(deliveries), session PTTL \(ttl), sweep deadline \(deadline)")
                throw error
            }
            try await Self.verify(received[0], hub: hub, audience: "notes", sessionID: session.sessionID, userID: user.id)
            #expect(try await Self.endReason(session.sessionID, hub: hub) == reason)
            // Ended like any other: the session is recorded as ended for validators.
            let snapshot = try await hub.store.recentEvents(count: 200).filter { $0.session == session.sessionID }.map(\.type)
            #expect(snapshot.contains("session_ended"))
            let metrics = PrometheusText(try await hub.get("/metrics").text)
            #expect(metrics.sum("hallpass_sessions_expired_total", [:]) == 1)
        }
    }

    @Test("an app that is down (connection refused, then 500) during the logout gets the token once it is back")
    func appDownThenBack() async throws {
        try await withHub(configure: Self.fast) { hub in
            let user = try await hub.addUser("hal", password: "pw-hal-1")
            let notes = try await Self.app("notes", at: hub, start: false)
            let tokens = try await hub.loginTokens("hal", password: "pw-hal-1", client: "notes", secret: notes.secret)
            #expect(try await hub.logout(bearer: tokens.access).status == 204)
            try await waitUntil("refused attempts", seconds: 20, toleratingErrors: true) {
                let status = try await hub.store.logoutDeliveries(sessionIDs: [tokens.sessionID]).first
                return status?.state == .pending && (status?.attempts ?? 0) >= 2 && status?.lastError == "connection refused"
            }
            notes.receiver.answer(500)
            try await notes.receiver.start()
            defer { Task { await notes.receiver.stop() } }
            try await waitUntil("a 500 answer", seconds: 20, toleratingErrors: true) {
                try await hub.store.logoutDeliveries(sessionIDs: [tokens.sessionID]).first?.lastError == "HTTP 500"
            }
            #expect(notes.receiver.acknowledged.isEmpty)
            notes.receiver.answer(200)
            let received = try await Self.tokens(notes.receiver)
            try await Self.verify(received[0], hub: hub, audience: "notes", sessionID: tokens.sessionID, userID: user.id)
            try await waitUntil("delivered", seconds: 20, toleratingErrors: true) {
                try await hub.store.logoutDeliveries(sessionIDs: [tokens.sessionID]).first?.state == .delivered
            }
            let status = try #require(try await hub.store.logoutDeliveries(sessionIDs: [tokens.sessionID]).first)
            #expect(status.attempts >= 3)
        }
    }

    @Test("delivery, retries and failures are logged without the token")
    func logsCarryNoToken() async throws {
        let lines = LogLines()
        var logger = Logger(label: "hallpass.hub.test") { _ in lines }
        logger.logLevel = .info
        try await withHub(configure: Self.fast, logger: logger) { hub in
            _ = try await hub.addUser("jo", password: "pw-jo-1")
            let notes = try await Self.app("notes", at: hub)
            notes.receiver.answer(500)
            let tokens = try await hub.loginTokens("jo", password: "pw-jo-1", client: "notes", secret: notes.secret)
            #expect(try await hub.logout(bearer: tokens.access).status == 204)
            try await waitUntil("a failed attempt", seconds: 20, toleratingErrors: true) { notes.receiver.hits >= 1 }
            notes.receiver.answer(200)
            let token = try await Self.tokens(notes.receiver)[0]
            try await waitUntil("delivered log line", seconds: 20, toleratingErrors: true) { lines.all.contains { $0.contains("back-channel logout delivered") } }
            let all = lines.all
            #expect(all.contains { $0.contains("will retry") && $0.contains("HTTP 500") }, "\(all)")
            for line in all {
                #expect(!line.contains(token))
                #expect(!line.contains(String(token.split(separator: ".")[2])))
            }
        }
    }

    @Test("retries give up after the configured bound and record the failure")
    func givesUp() async throws {
        try await withHub(configure: { configuration in
            Self.fast(&configuration)
            configuration.backchannelLogout.giveUpAfter = 1000
        }) { hub in
            _ = try await hub.addUser("ian", password: "pw-ian-1")
            let notes = try await Self.app("notes", at: hub, start: false)
            let tokens = try await hub.loginTokens("ian", password: "pw-ian-1", client: "notes", secret: notes.secret)
            #expect(try await hub.logout(bearer: tokens.access).status == 204)
            try await waitUntil("failed", seconds: 20, toleratingErrors: true) {
                try await hub.store.logoutDeliveries(sessionIDs: [tokens.sessionID]).first?.state == .failed
            }
            #expect(try await hub.store.logoutQueueDepth() == 0)
            let metrics = PrometheusText(try await hub.get("/metrics").text)
            #expect(metrics.sum("hallpass_backchannel_logout_deliveries_total", ["result": "failed"]) == 1)
        }
    }

    @Test("two hubs over one Redis deliver each notification exactly once")
    func twoHubsExactlyOnce() async throws {
        let redis = try await RedisTestServer.start()
        defer { Task { await redis.stop() } }
        var settings = HubConfiguration.forTests(redis: redis)
        Self.fast(&settings)
        settings.backchannelLogout.pollInterval = 10
        let configuration = settings
        try await runHub(configuration, redis: redis) { a in
            try await runHub(configuration, redis: redis) { _ in
                let notes = try await Self.app("notes", at: a)
                var sessions: [String] = []
                for index in 0..<20 {
                    let user = try await a.addUser("user\(index)", password: "pw")
                    let outcome = try await a.store.startSession(
                        userID: user.id, clientID: "notes", scope: "openid", timeouts: SessionTimeouts(), defaultPolicy: .newestWins,
                        actor: "test", remoteAddress: "127.0.0.1")
                    guard case .started(let session) = outcome else { throw TestSupportErrorBox(description: "\(outcome)") }
                    sessions.append(session.sessionID)
                }
                for sid in sessions {
                    #expect(try await a.store.endSession(sid, reason: "revoked", actor: "test") != nil)
                }
                let received = try await Self.tokens(notes.receiver, count: 20)
                try await waitUntil("all delivered", seconds: 20, toleratingErrors: true) {
                    try await a.store.logoutDeliveries(sessionIDs: sessions).allSatisfy { $0.state == .delivered }
                }
                try await Task.sleep(for: .milliseconds(300))
                #expect(notes.receiver.hits == 20)
                var sids: Set<String> = []
                for token in received {
                    let payload = try Base64URL.decode(token.split(separator: ".")[1])
                    sids.insert(try JSONParser.parse(payload).objectValue?["sid"]?.stringValue ?? "")
                }
                #expect(sids == Set(sessions))
            }
        }
        await redis.stop()
    }
}

@Suite("Back-channel logout settings")
struct BackchannelLogoutSettingsTests {
    @Test("backoff doubles from the initial delay up to the maximum")
    func backoff() {
        let settings = BackchannelLogoutSettings()
        #expect((1...9).map { settings.backoff(afterAttempt: $0) } == [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000])
        #expect(settings.backoff(afterAttempt: 10_000) == 60000)
    }

    @Test("out-of-range settings are refused with the flag's name")
    func validation() {
        func problem(_ change: (inout BackchannelLogoutSettings) -> Void) -> String? {
            var configuration = HubConfiguration()
            change(&configuration.backchannelLogout)
            do {
                try configuration.validate()
                return nil
            } catch {
                return error.description
            }
        }
        #expect(problem { _ in } == nil)
        #expect(problem { $0.giveUpAfter = 48 * 3600 * 1000 }?.contains("--backchannel-give-up") == true)
        #expect(problem { $0.pollInterval = 0 }?.contains("--backchannel-poll-interval-ms") == true)
        #expect(problem { $0.sweepInterval = 5 }?.contains("--session-sweep-interval-ms") == true)
        #expect(problem { $0.maximumBackoff = 5 }?.contains("--backchannel-initial-backoff-ms") == true)
        #expect(problem { $0.requestTimeout = 10 }?.contains("--backchannel-timeout-ms") == true)
    }
}

/// Collects every log line (message and metadata) of a hub.
final class LogLines: LogHandler, @unchecked Sendable {
    private let lines = Mutex<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    var all: [String] { lines.withLock { $0 } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        let text = "\(level) \(message) \(metadata ?? [:])"
        lines.withLock { $0.append(text) }
    }
}
