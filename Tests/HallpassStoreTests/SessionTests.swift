import HallpassRedis
import HallpassTestSupport
import Testing

@testable import HallpassStore

@Suite("Sessions and the single-login policy")
struct SessionTests {
    @Test(arguments: RedisTopologyUnderTest.underTest)
    func aStartedSessionRecordsTheLoginInTheUsersShardWithItsTimeouts(topology: RedisTopologyUnderTest) async throws {
        try await withStore(topology: topology) { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let timeouts = SessionTimeouts(idle: 600, absolute: 7200)
            let now = fixture.clock.milliseconds
            let started = try await fixture.store.login(user.id, scope: "openid profile", timeouts: timeouts).started()

            #expect(Identifiers.isWellFormed(started.sessionID))
            #expect(started.sessionID.first == user.id.first)
            #expect(StoreSchema.shard(of: started.sessionID) == StoreSchema.shard(of: user.id))
            #expect(started.endedSessions.isEmpty)
            #expect(started.userNotBefore == 0)
            #expect(started.refreshToken.sessionID == started.sessionID)

            let session = try #require(try await fixture.store.session(id: started.sessionID))
            #expect(session.userID == user.id)
            #expect(session.clients == ["notes"])
            #expect(session.authTime == now / 1000)
            #expect(session.lastSeen == now)
            #expect(session.absoluteExpiry == now + 7_200_000)
            #expect(session.idleTimeout == 600_000)
            #expect(session.expiresAt == now + 600_000)
            #expect(session.remoteAddress == "192.0.2.1")

            let prefix = try fixture.prefix(of: user.id)
            let key = prefix + "s:" + started.sessionID
            // The session key expires when the session does, to the millisecond.
            #expect(try await fixture.raw("PEXPIRETIME", key) == .integer(now + 600_000))
            #expect(try await fixture.score(prefix + "us:" + user.id, started.sessionID) == now + 7_200_000)
            #expect(try await fixture.raw("PEXPIRETIME", prefix + "us:" + user.id) == .integer(now + 7_200_000))
            // Only a verifier of the refresh token is stored, never the token.
            let stored = try await fixture.raw("HGETALL", key).array?.compactMap(\.bytes) ?? []
            #expect(!stored.contains { $0 == Array(started.refreshToken.encoded.utf8) })
            #expect(stored.contains { $0 == started.refreshToken.verifier })
        }
    }

    @Test(arguments: RedisTopologyUnderTest.underTest)
    func newestWinsEndsTheUsersOtherSessionsAndReportsThem(topology: RedisTopologyUnderTest) async throws {
        try await withStore(topology: topology) { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let other = try await fixture.store.makeUser("bob")
            let first = try await fixture.store.login(user.id, policy: .off).started()
            let second = try await fixture.store.login(user.id, policy: .off).started()
            let bobs = try await fixture.store.login(other.id, policy: .off).started()

            let newest = try await fixture.store.login(user.id, policy: .newestWins).started()

            #expect(Set(newest.endedSessions) == [first.sessionID, second.sessionID])
            #expect(newest.endedSessions.count == 2)
            #expect(try await fixture.store.sessions(ofUser: user.id).map(\.id) == [newest.sessionID])
            #expect(try await fixture.store.session(id: first.sessionID) == nil)
            #expect(try await fixture.store.session(id: second.sessionID) == nil)
            // Another user's session is untouched.
            #expect(try await fixture.store.session(id: bobs.sessionID) != nil)
            let ended = try fixture.prefix(of: user.id) + "rs"
            #expect(try await fixture.score(ended, first.sessionID) != nil)
            #expect(try await fixture.score(ended, second.sessionID) != nil)
            #expect(try await fixture.store.rotate(first.refreshToken, clientID: "notes", grace: 10_000, actor: "t") == .invalid)
        }
    }

    @Test func denyNewRefusesWhileASessionIsLiveAndStartsOnceItEnded() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let first = try await fixture.store.login(user.id, policy: .denyNew).started()

            #expect(try await fixture.store.login(user.id, policy: .denyNew) == .sessionExists)
            #expect(try await fixture.store.login(user.id, client: "wiki", policy: .denyNew) == .sessionExists)
            #expect(try await fixture.store.sessions(ofUser: user.id).map(\.id) == [first.sessionID])

            #expect(try await fixture.store.endSession(first.sessionID, reason: "logout", actor: "192.0.2.1") == user.id)
            let second = try await fixture.store.login(user.id, policy: .denyNew).started()
            #expect(second.endedSessions.isEmpty)
            #expect(try await fixture.store.sessions(ofUser: user.id).map(\.id) == [second.sessionID])
        }
    }

    @Test func denyNewStartsOnceTheLiveSessionExpired() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let first = try await fixture.store.login(user.id, policy: .denyNew).started()
            #expect(try await fixture.store.login(user.id, policy: .denyNew) == .sessionExists)

            // Redis expires the session key itself (as at the idle timeout); its entry in the
            // user's index stays behind and must not count as a live session.
            let prefix = try fixture.prefix(of: user.id)
            #expect(try await fixture.raw("PEXPIRE", prefix + "s:" + first.sessionID, 1) == .integer(1))
            try await waitUntil("the session key to expire", seconds: 10) {
                try await fixture.raw("EXISTS", prefix + "s:" + first.sessionID) == .integer(0)
            }
            #expect(try await fixture.score(prefix + "us:" + user.id, first.sessionID) != nil)

            let second = try await fixture.store.login(user.id, policy: .denyNew).started()
            #expect(second.endedSessions.isEmpty)
            #expect(try await fixture.raw("ZRANGE", prefix + "us:" + user.id, 0, -1) == .array([.bulkString(Array(second.sessionID.utf8))]))
        }
    }

    @Test func offKeepsEverySession() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            var ids: Set<String> = []
            for _ in 0..<5 {
                let started = try await fixture.store.login(user.id, policy: .off).started()
                #expect(started.endedSessions.isEmpty)
                ids.insert(started.sessionID)
            }
            #expect(Set(try await fixture.store.sessions(ofUser: user.id).map(\.id)) == ids)
            #expect(ids.count == 5)
        }
    }

    @Test func offShedsEndedSessionsFromTheUsersIndexAsLoginsComeIn() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let first = try await fixture.store.login(user.id, policy: .off).started()
            let prefix = try fixture.prefix(of: user.id)
            let index = prefix + "us:" + user.id
            let now = fixture.clock.milliseconds
            // Entries left behind: two past their absolute expiry, three whose session hash is
            // gone (idle expiry) though their absolute expiry is ahead.
            for (sid, score) in [("gone-abs-1", now - 1000), ("gone-abs-2", now - 1), ("gone-idle-1", now + 60_000),
                                 ("gone-idle-2", now + 60_000), ("gone-idle-3", now + 60_000)] {
                #expect(try await fixture.raw("ZADD", index, score, sid) == .integer(1))
            }
            // A login under off does not check every entry: it drops those past their absolute
            // expiry, and checks eight drawn at random (here, with seven, all of them).
            let second = try await fixture.store.login(user.id, policy: .off).started()
            let left = try await fixture.raw("ZRANGE", index, 0, -1).array?.compactMap(\.bytes).map { String(decoding: $0, as: UTF8.self) }
            #expect(Set(left ?? []) == [first.sessionID, second.sessionID])
            #expect(Set(try await fixture.store.sessions(ofUser: user.id).map(\.id)) == [first.sessionID, second.sessionID])
        }
    }

    @Test func aUsersOwnPolicyOffUnderAnotherDefaultKeepsEverySessionAndShedsEndedOnes() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            try await fixture.store.setSingleLoginPolicy(.off, forUser: user.id, actor: "cli:root")
            var ids: Set<String> = []
            // More sessions than a login reads ahead of knowing the user's policy.
            for _ in 0..<70 {
                let started = try await fixture.store.login(user.id, policy: .newestWins).started()
                #expect(started.endedSessions.isEmpty)
                ids.insert(started.sessionID)
            }
            let index = try fixture.prefix(of: user.id) + "us:" + user.id
            #expect(try await fixture.raw("ZADD", index, fixture.clock.milliseconds - 1, "gone-abs") == .integer(1))
            let last = try await fixture.store.login(user.id, policy: .denyNew).started()
            ids.insert(last.sessionID)
            #expect(Set(try await fixture.store.sessions(ofUser: user.id).map(\.id)) == ids)
            #expect(try await fixture.score(index, "gone-abs") == nil)
        }
    }

    @Test func newestWinsAfterOffEndsEverySessionHoweverMany() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            try await fixture.store.setSingleLoginPolicy(.off, forUser: user.id, actor: "cli:root")
            var ids: Set<String> = []
            for _ in 0..<70 { ids.insert(try await fixture.store.login(user.id, policy: .newestWins).started().sessionID) }
            // Back to the default: the next login must see and end all 70, not the first 64.
            try await fixture.store.setSingleLoginPolicy(nil, forUser: user.id, actor: "cli:root")
            let next = try await fixture.store.login(user.id, policy: .newestWins).started()
            #expect(Set(next.endedSessions) == ids)
            #expect(try await fixture.store.sessions(ofUser: user.id).map(\.id) == [next.sessionID])
        }
    }

    @Test func aDisabledOrUnknownUserCannotStartASession() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            try await fixture.store.disableUser(user.id, actor: "cli:root")
            for policy in SingleLoginPolicy.allCases {
                #expect(try await fixture.store.login(user.id, policy: policy) == .userDisabled)
            }
            #expect(try await fixture.store.sessions(ofUser: user.id).isEmpty)

            #expect(try await fixture.store.login(try Identifiers.make()) == .unknownUser)
            #expect(try await fixture.store.login("not an id") == .unknownUser)
            #expect(try await fixture.store.login("") == .unknownUser)
        }
    }

    @Test func twentyConcurrentLoginsUnderDenyNewStartExactlyOneSession() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let store = fixture.store
            let outcomes = try await withThrowingTaskGroup(of: LoginOutcome.self) { group in
                for _ in 0..<20 { group.addTask { try await store.login(user.id, policy: .denyNew) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let started = outcomes.compactMap { outcome -> String? in
                if case .started(let session) = outcome { return session.sessionID }
                return nil
            }
            #expect(started.count == 1)
            #expect(outcomes.filter { $0 == .sessionExists }.count == 19)
            #expect(try await fixture.store.sessions(ofUser: user.id).map(\.id) == started)
            #expect(try await fixture.raw("KEYS", try fixture.prefix(of: user.id) + "s:*").array?.count == 1)
        }
    }

    @Test(arguments: RedisTopologyUnderTest.underTest)
    func twentyConcurrentLoginsUnderNewestWinsLeaveExactlyOneLiveSession(topology: RedisTopologyUnderTest) async throws {
        try await withStore(topology: topology) { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let store = fixture.store
            let sessions = try await withThrowingTaskGroup(of: StartedSession.self) { group in
                for _ in 0..<20 { group.addTask { try await store.login(user.id, policy: .newestWins).started() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(sessions.count == 20)
            let live = try await fixture.store.sessions(ofUser: user.id)
            #expect(live.count == 1)
            let survivor = try #require(live.first?.id)
            // Every other session was ended exactly once, by exactly one later login.
            let ended = sessions.flatMap(\.endedSessions)
            #expect(ended.count == 19)
            #expect(Set(ended) == Set(sessions.map(\.sessionID)).subtracting([survivor]))
            let prefix = try fixture.prefix(of: user.id)
            #expect(try await fixture.raw("KEYS", prefix + "s:*").array?.count == 1)
            #expect(try await fixture.raw("ZCARD", prefix + "us:" + user.id) == .integer(1))
            #expect(try await fixture.raw("ZCARD", prefix + "rs") == .integer(19))
        }
    }
}
