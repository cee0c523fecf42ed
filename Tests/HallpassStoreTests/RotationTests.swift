import HallpassRedis
import HallpassTestSupport
import Testing

@testable import HallpassStore

@Suite("Refresh-token rotation")
struct RotationTests {
    static let grace: Int64 = 10_000

    @Test(arguments: RedisTopologyUnderTest.underTest)
    func rotationReturnsASuccessorForTheSameGrantAndTheOldTokenStopsBeingCurrent(topology: RedisTopologyUnderTest) async throws {
        try await withStore(topology: topology) { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let started = try await fixture.store.login(user.id, scope: "openid email").started()
            let first = started.refreshToken
            fixture.clock.advance(seconds: 30)

            let grant = try await fixture.store.rotate(first, clientID: "notes", grace: Self.grace, actor: "192.0.2.1").rotated()

            #expect(grant.refreshToken.sessionID == first.sessionID)
            #expect(grant.refreshToken.grantID == first.grantID)
            #expect(grant.refreshToken.encoded != first.encoded)
            #expect(grant.userID == user.id)
            #expect(grant.scope == "openid email")
            #expect(grant.authTime == (fixture.clock.milliseconds - 30_000) / 1000)
            #expect(grant.userNotBefore == 0)
            #expect(RefreshToken(parsing: grant.refreshToken.encoded) == grant.refreshToken)
            // 256 random bits and a 128-bit lineage tag: 48 bytes are 77 base32 characters.
            #expect(grant.refreshToken.encoded.split(separator: ".").last?.count == 77)

            let session = try #require(try await fixture.store.session(id: started.sessionID))
            #expect(session.lastSeen == fixture.clock.milliseconds)
            #expect(try await fixture.store.liveGrant(for: first) == nil)
            let live = try #require(try await fixture.store.liveGrant(for: grant.refreshToken))
            #expect(live.clientID == "notes")
            #expect(live.scope == "openid email")
            #expect(live.session.id == started.sessionID)

            let third = try await fixture.store.rotate(grant.refreshToken, clientID: "notes", grace: Self.grace, actor: "t").rotated()
            #expect(third.refreshToken.encoded != grant.refreshToken.encoded)
            #expect(try await fixture.store.liveGrant(for: grant.refreshToken) == nil)
            #expect(try await fixture.store.liveGrant(for: third.refreshToken) != nil)
        }
    }

    @Test(arguments: RedisTopologyUnderTest.underTest)
    func theRotatedTokenWithinGraceGetsTheIdenticalSuccessor(topology: RedisTopologyUnderTest) async throws {
        try await withStore(topology: topology) { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let first = try await fixture.store.login(user.id).started().refreshToken
            let successor = try await fixture.store.rotate(first, clientID: "notes", grace: Self.grace, actor: "t").rotated()

            fixture.clock.advance(milliseconds: Self.grace)
            let retry = try await fixture.store.rotate(first, clientID: "notes", grace: Self.grace, actor: "t").replayed()

            #expect(retry.refreshToken.encoded == successor.refreshToken.encoded)
            #expect(retry.refreshToken == successor.refreshToken)
            #expect(retry.userID == user.id)
            #expect(retry.scope == successor.scope)
            #expect(retry.authTime == successor.authTime)
            // The replay hands out the same successor; it does not rotate again.
            #expect(try await fixture.store.liveGrant(for: successor.refreshToken) != nil)
            _ = try await fixture.store.rotate(successor.refreshToken, clientID: "notes", grace: Self.grace, actor: "t").rotated()
        }
    }

    @Test func theStoreCannotProduceTheSuccessorWithoutThePresentedToken() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let started = try await fixture.store.login(user.id).started()
            let successor = try await fixture.store.rotate(started.refreshToken, clientID: "notes", grace: Self.grace, actor: "t")
                .rotated().refreshToken
            let key = try fixture.prefix(of: user.id) + "s:" + started.sessionID
            let stored = try await fixture.raw("HGETALL", key).array?.compactMap(\.bytes) ?? []
            // Neither token, nor the successor's secret, is in Redis: only verifiers and the
            // successor sealed under a pad derived from the token that was presented.
            for token in [started.refreshToken, successor] {
                #expect(!stored.contains { $0 == Array(token.encoded.utf8) })
                #expect(!stored.contains { $0 == token.secret })
            }
            let sealed = try #require(try await fixture.raw("HGET", key, "x:notes").bytes)
            #expect(sealed == started.refreshToken.seal(successor: successor))
            #expect(started.refreshToken.unseal(sealed) == successor)
            let stranger = try RefreshToken.issue(sessionID: started.sessionID)
            #expect(stranger.unseal(sealed) != successor)
        }
    }

    @Test(arguments: RedisTopologyUnderTest.underTest)
    func theRotatedTokenAfterGraceEndsTheSessionAndTheNewestTokenIsInvalid(topology: RedisTopologyUnderTest) async throws {
        try await withStore(topology: topology) { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let started = try await fixture.store.login(user.id).started()
            let first = started.refreshToken
            let successor = try await fixture.store.rotate(first, clientID: "notes", grace: Self.grace, actor: "t").rotated()

            fixture.clock.advance(milliseconds: Self.grace + 1)
            let (outcome, events) = try await fixture.eventsAppended {
                try await fixture.store.rotate(first, clientID: "notes", grace: Self.grace, actor: "198.51.100.7")
            }

            #expect(outcome == .reuseDetected(userID: user.id))
            #expect(events.map(\.type) == ["refresh_reuse_detected", "session_ended"])
            #expect(events.allSatisfy { $0.user == user.id && $0.session == started.sessionID && $0.actor == "198.51.100.7" })
            #expect(events.last?.detail == "refresh_reuse")
            #expect(try await fixture.store.session(id: started.sessionID) == nil)
            #expect(try await fixture.score(try fixture.prefix(of: user.id) + "rs", started.sessionID) != nil)
            #expect(try await fixture.store.rotate(successor.refreshToken, clientID: "notes", grace: Self.grace, actor: "t") == .invalid)
            #expect(try await fixture.store.rotate(first, clientID: "notes", grace: Self.grace, actor: "t") == .invalid)
            #expect(try await fixture.store.liveGrant(for: successor.refreshToken) == nil)
        }
    }

    @Test func aTokenTwoRotationsOldIsReuseEvenWithinGrace() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let started = try await fixture.store.login(user.id).started()
            let second = try await fixture.store.rotate(started.refreshToken, clientID: "notes", grace: Self.grace, actor: "t").rotated()
            _ = try await fixture.store.rotate(second.refreshToken, clientID: "notes", grace: Self.grace, actor: "t").rotated()

            #expect(try await fixture.store.rotate(started.refreshToken, clientID: "notes", grace: Self.grace, actor: "t")
                == .reuseDetected(userID: user.id))
            #expect(try await fixture.store.session(id: started.sessionID) == nil)
        }
    }

    @Test(arguments: RedisTopologyUnderTest.underTest)
    func fiftyConcurrentRotationsOfOneTokenYieldExactlyOneSuccessor(topology: RedisTopologyUnderTest) async throws {
        try await withStore(topology: topology) { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let token = try await fixture.store.login(user.id).started().refreshToken
            let store = fixture.store
            let outcomes = try await withThrowingTaskGroup(of: RefreshOutcome.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await store.rotate(token, clientID: "notes", grace: Self.grace, actor: "t") }
                }
                var outcomes: [RefreshOutcome] = []
                for try await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            var rotated: [String] = []
            var replayed: [String] = []
            for outcome in outcomes {
                switch outcome {
                case .rotated(let grant): rotated.append(grant.refreshToken.encoded)
                case .replayed(let grant): replayed.append(grant.refreshToken.encoded)
                case .reuseDetected, .invalid: Issue.record("unexpected \(outcome)")
                }
            }
            #expect(rotated.count == 1)
            #expect(replayed.count == 49)
            #expect(Set(rotated + replayed).count == 1)
            let encoded = try #require(rotated.first)
            let successor = try #require(RefreshToken(parsing: encoded))
            #expect(try await fixture.store.liveGrant(for: successor) != nil)
        }
    }

    @Test func aTokenPresentedByAnotherClientIsInvalidAndHarmless() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let started = try await fixture.store.login(user.id, client: "notes").started()

            #expect(try await fixture.store.rotate(started.refreshToken, clientID: "wiki", grace: Self.grace, actor: "t") == .invalid)
            #expect(try await fixture.store.rotate(started.refreshToken, clientID: "", grace: Self.grace, actor: "t") == .invalid)
            // The rightful client's token still works: a wrong client is no reuse.
            _ = try await fixture.store.rotate(started.refreshToken, clientID: "notes", grace: Self.grace, actor: "t").rotated()
            #expect(try await fixture.store.session(id: started.sessionID) != nil)
        }
    }

    @Test(arguments: [
        "", "garbage", "a.b.c", "..", "-abc.def.ghi",
        "aaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbb.cccc",
        String(repeating: "a", count: 129),
        "AAAAAAAAAAAAAAAAAAAAAAAAAA.bbbbbbbbbbbbbbbb." + String(repeating: "c", count: 52),
        "aaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbb." + String(repeating: "c", count: 51),
    ])
    func aMalformedTokenDoesNotParse(_ text: String) {
        #expect(RefreshToken(parsing: text) == nil)
    }

    @Test func unknownSessionsAndGrantsAreInvalidAndEndNothing() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let started = try await fixture.store.login(user.id).started()

            let unknownSession = try RefreshToken.issue(sessionID: try Identifiers.make())
            #expect(try await fixture.store.rotate(unknownSession, clientID: "notes", grace: Self.grace, actor: "t") == .invalid)
            // The right session, but a grant it does not have.
            let unknownGrant = try RefreshToken.issue(sessionID: started.sessionID)
            #expect(try await fixture.store.rotate(unknownGrant, clientID: "notes", grace: Self.grace, actor: "t") == .invalid)
            #expect(try await fixture.store.liveGrant(for: unknownGrant) == nil)
            #expect(try await fixture.store.revokeGrant(unknownGrant, clientID: "notes", actor: "t") == nil)

            #expect(try await fixture.store.session(id: started.sessionID) != nil)
            _ = try await fixture.store.rotate(started.refreshToken, clientID: "notes", grace: Self.grace, actor: "t").rotated()
        }
    }

    @Test func eachRotationMovesTheIdleDeadlineButNeverPastTheAbsoluteOne() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let start = fixture.clock.milliseconds
            let started = try await fixture.store.login(user.id, timeouts: SessionTimeouts(idle: 600, absolute: 1000)).started()
            let key = try fixture.prefix(of: user.id) + "s:" + started.sessionID
            #expect(try await fixture.raw("PEXPIRETIME", key) == .integer(start + 600_000))

            fixture.clock.advance(seconds: 300)
            let second = try await fixture.store.rotate(started.refreshToken, clientID: "notes", grace: Self.grace, actor: "t").rotated()
            #expect(try await fixture.raw("PEXPIRETIME", key) == .integer(start + 900_000))

            fixture.clock.advance(seconds: 300)
            _ = try await fixture.store.rotate(second.refreshToken, clientID: "notes", grace: Self.grace, actor: "t").rotated()
            #expect(try await fixture.raw("PEXPIRETIME", key) == .integer(start + 1_000_000))
            let session = try #require(try await fixture.store.session(id: started.sessionID))
            #expect(session.expiresAt == start + 1_000_000)
        }
    }

    @Test func aSessionNobodyRefreshesEndsAtItsIdleTimeout() async throws {
        // Redis's own expiry ends the session, so this test runs on the real clock and waits
        // for it (about a second); nothing here measures how long anything took.
        try await withStore { fixture async throws in
            let store = HallpassStore(redis: fixture.redis)
            let user = try await store.makeUser("alice")
            let started = try await store.login(user.id, timeouts: SessionTimeouts(idle: 1, absolute: 3600)).started()
            let key = try fixture.prefix(of: user.id) + "s:" + started.sessionID
            let ttl = try #require(try await fixture.raw("PTTL", key).int)
            // The idle timeout, not the absolute one, bounds it; on a loaded machine more than the
            // idle second can pass before this read, and then Redis has already expired it (-2).
            #expect(ttl == -2 || (ttl > 0 && ttl <= 1000), "PTTL \(ttl)")

            try await waitUntil("the idle session to expire", seconds: 15) {
                try await fixture.raw("EXISTS", key) == .integer(0)
            }
            #expect(try await store.session(id: started.sessionID) == nil)
            #expect(try await store.sessions(ofUser: user.id).isEmpty)
            #expect(try await store.rotate(started.refreshToken, clientID: "notes", grace: Self.grace, actor: "t") == .invalid)
            #expect(try await store.login(user.id, policy: .denyNew) != .sessionExists)
        }
    }

    @Test func aTokenWhoseUserVanishedIsInvalidAndEndsItsSession() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let started = try await fixture.store.login(user.id).started()
            _ = try await fixture.raw("DEL", try fixture.prefix(of: user.id) + "u:" + user.id)

            #expect(try await fixture.store.rotate(started.refreshToken, clientID: "notes", grace: Self.grace, actor: "t") == .invalid)
            #expect(try await fixture.store.session(id: started.sessionID) == nil)
        }
    }
}
