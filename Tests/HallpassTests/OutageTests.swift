import Hallpass
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("Validator: Redis outages, staleness and fail-open", .serialized)
struct OutageTests {
    @Test("Redis down past the bound: fail-closed refuses as stale, fail-open accepts; revocations made around the restart are all applied after reconnect")
    func outageAndRecovery() async throws {
        let fixture = try await ValidatorFixture.start(durable: true)
        defer { Task { await fixture.stop() } }
        var started: [StartedSession] = []
        var minted: [String] = []
        for _ in 0..<4 {
            let session = try await fixture.login()
            started.append(session)
            minted.append(try fixture.token(session: session.sessionID, jti: "outage-\(started.count)"))
        }
        let sessions = started
        let tokens = minted
        let closed = try fixture.validator { $0.stalenessBound = .milliseconds(500) }
        let open = try fixture.validator {
            $0.stalenessBound = .milliseconds(500)
            $0.failOpen = true
        }
        let openTask = Task { try await open.run() }
        defer { openTask.cancel() }
        #expect(await open.waitUntilCurrent(timeout: .seconds(20)))
        try await running(closed) { validator in
            for token in tokens { #expect(refusal(validator, token) == nil) }

            await fixture.server.kill()
            try await waitUntil("stale") { validator.status == .stale }
            #expect(refusal(validator, tokens[0]) == .stale)
            try await waitUntil("fail-open validator stale too") { open.status == .stale }
            #expect(refusal(open, tokens[0]) == nil, "fail-open accepts while stale")

            // Redis comes back with its data; revocations are made at once, while the
            // validators are still reconnecting (their backoff).
            try await fixture.server.restart()
            try await fixture.store.endSession(sessions[0].sessionID, reason: "logout", actor: "test")
            try await fixture.store.revokeTokenID("outage-2", expiresAt: nil, actor: "test")
            try await fixture.store.endSession(sessions[2].sessionID, reason: "admin", actor: "test")

            try await waitUntil("current again") { validator.status == .current }
            try await waitUntil("every revocation applied") {
                refusal(validator, tokens[0]) == .revoked(.session) && refusal(validator, tokens[1]) == .revoked(.token)
                    && refusal(validator, tokens[2]) == .revoked(.session)
            }
            #expect(refusal(validator, tokens[3]) == nil)
            try await waitUntil("fail-open validator applied them too") {
                refusal(open, tokens[0]) == .revoked(.session) && refusal(open, tokens[1]) == .revoked(.token)
            }
        }
        openTask.cancel()
        _ = try? await openTask.value
    }

    @Test("the validator cut off from Redis (its ACL user disabled and disconnected) while revocations happen: stale meanwhile, and after it gets back in it resumes and applies every one")
    func revocationsWhileCutOff() async throws {
        let fixture = try await ValidatorFixture.start()
        defer { Task { await fixture.stop() } }
        let password = "cut-off-password"
        @Sendable func setUser(_ state: String) async throws {
            _ = try await fixture.redis.send(RedisCommand(
                "ACL", arguments: ["SETUSER", "hallpass-validator", "reset", state, ">" + password]
                    + StoreSchema.validatorACLRules.split(separator: " ").map(String.init)))
        }
        try await setUser("on")
        let url = "redis://hallpass-validator:\(password)@127.0.0.1:\(fixture.server.port)/0"
        var started: [StartedSession] = []
        var minted: [String] = []
        for index in 0..<5 {
            let session = try await fixture.login()
            started.append(session)
            minted.append(try fixture.token(session: session.sessionID, jti: "cut-\(index)"))
        }
        let sessions = started
        let tokens = minted
        try await running(try fixture.validator(url: url) { $0.stalenessBound = .milliseconds(500) }) { validator in
            for token in tokens { #expect(refusal(validator, token) == nil) }
            try await setUser("off")
            _ = try await fixture.redis.send(RedisCommand("CLIENT", "KILL", "USER", "hallpass-validator"))
            try await waitUntil("stale while cut off") { validator.status == .stale }
            // Revocations of every kind while the validator cannot read.
            try await fixture.store.endSession(sessions[0].sessionID, reason: "logout", actor: "test")
            try await fixture.store.revokeTokenID("cut-1", expiresAt: nil, actor: "test")
            _ = try await fixture.store.revokeGrant(sessions[2].refreshToken, clientID: ValidatorFixture.audience, actor: "test")
            _ = try await fixture.login(policy: .newestWins)  // ends sessions 3 and 4 (single login)
            #expect(refusal(validator, tokens[0]) == .stale)
            try await setUser("on")
            try await waitUntil("current again") { validator.status == .current }
            try await waitUntil("every revocation made while cut off") {
                tokens.allSatisfy {
                    if case .revoked = refusal(validator, $0) { return true }
                    return false
                }
            }
        }
    }

    @Test("Redis restarted without its data: the validator notices the lost streams and reloads a snapshot")
    func redisLostItsData() async throws {
        let fixture = try await ValidatorFixture.start(durable: false)
        defer { Task { await fixture.stop() } }
        let session = try await fixture.login()
        let token = try fixture.token(session: session.sessionID, jti: "after-flush")
        try await running(try fixture.validator()) { validator in
            #expect(refusal(validator, token) == nil)
            // Some events so the streams have positions beyond what an empty Redis will have.
            for index in 0..<3 { try await fixture.store.revokeTokenID("filler-\(index)", expiresAt: nil, actor: "test") }
            try await Task.sleep(for: .milliseconds(100))
            await fixture.server.kill()
            try await fixture.server.restart()
            // The store's own connection may still be the killed server's: a command sent on it
            // fails (as it should), and the next one reconnects. A full CI run saw that failure.
            try await waitUntil("the revocation written to the new, empty Redis", toleratingErrors: true) {
                try await fixture.store.revokeTokenID("after-flush", expiresAt: nil, actor: "test")
                return true
            }
            try await waitUntil("revocation on the new, empty Redis") { refusal(validator, token) == .revoked(.token) }
        }
    }

    @Test("canResumeEvents: false after a stream was trimmed past the position or lost, true otherwise")
    func resumeCheck() async throws {
        let fixture = try await ValidatorFixture.start()
        defer { Task { await fixture.stop() } }
        let connection = try await fixture.redis.makeDedicatedConnection()
        defer { Task { await connection.close() } }
        let snapshot = try await HallpassStore.revocationSnapshot(on: connection)
        #expect(try await HallpassStore.canResumeEvents(after: snapshot.positions, on: connection))
        try await fixture.store.revokeTokenID("x1", expiresAt: nil, actor: "test")
        #expect(try await HallpassStore.canResumeEvents(after: snapshot.positions, on: connection))
        // Trim the global stream to nothing: the entry after our position is gone.
        _ = try await fixture.redis.send(RedisCommand("XTRIM", StoreSchema.eventStreams.last ?? "", "MAXLEN", 0))
        #expect(try await HallpassStore.canResumeEvents(after: snapshot.positions, on: connection) == false)
        // A position beyond what the stream ever had (Redis came back empty).
        var ahead = snapshot.positions
        ahead[StoreSchema.eventStreams[0]] = "99999999999999-0"
        #expect(try await HallpassStore.canResumeEvents(after: ahead, on: connection) == false)
    }
}
