import HallpassRedis
import HallpassTestSupport
import Testing

@testable import HallpassStore

@Suite("Revocation state")
struct RevocationTests {
    /// How long a revocation record outlives its revocation (ms).
    static let retention = (HallpassStore.maximumAccessTokenLifetime + HallpassStore.clockSkewAllowance) * 1000

    static func facts(_ session: StartedSession, user: String, jti: String = "jti-1", client: String = "notes", issuedAt: Int64)
        -> AccessTokenFacts
    {
        AccessTokenFacts(tokenID: jti, sessionID: session.sessionID, userID: user, clientID: client, issuedAt: issuedAt)
    }

    @Test(arguments: RedisTopologyUnderTest.underTest)
    func endSessionRecordsTheSessionUntilItsLastAccessTokenHasExpired(topology: RedisTopologyUnderTest) async throws {
        try await withStore(topology: topology) { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let started = try await fixture.store.login(user.id).started()
            let other = try await fixture.store.login(user.id).started()
            let issuedAt = fixture.clock.seconds
            #expect(try await fixture.store.isRevoked(Self.facts(started, user: user.id, issuedAt: issuedAt)) == false)

            fixture.clock.advance(seconds: 42)
            let (ended, events) = try await fixture.eventsAppended {
                try await fixture.store.endSession(started.sessionID, reason: "logout", actor: "192.0.2.9")
            }

            #expect(ended == user.id)
            let rs = try fixture.prefix(of: user.id) + "rs"
            #expect(try await fixture.score(rs, started.sessionID) == fixture.clock.milliseconds + Self.retention)
            #expect(events.count == 1)
            let event = try #require(events.first)
            #expect(event.type == "session_ended")
            #expect(event.stream == (try fixture.prefix(of: user.id)) + "ev")
            #expect(event.user == user.id)
            #expect(event.session == started.sessionID)
            #expect(event.client == "notes")
            #expect(event.actor == "192.0.2.9")
            #expect(event.detail == "logout")

            #expect(try await fixture.store.isRevoked(Self.facts(started, user: user.id, issuedAt: issuedAt)))
            #expect(try await fixture.store.isRevoked(Self.facts(other, user: user.id, issuedAt: issuedAt)) == false)
            #expect(try await fixture.store.sessions(ofUser: user.id).map(\.id) == [other.sessionID])

            // Ending it again changes nothing and logs nothing.
            let (again, none) = try await fixture.eventsAppended {
                try await fixture.store.endSession(started.sessionID, reason: "logout", actor: "t")
            }
            #expect(again == nil)
            #expect(none.isEmpty)
            #expect(try await fixture.store.endSession("not-an-id", reason: "logout", actor: "t") == nil)
        }
    }

    @Test func endedSessionRecordsArePrunedByTheNextWriteOnceTheirTokensHaveExpired() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let sessions = [
                try await fixture.store.login(user.id).started(), try await fixture.store.login(user.id).started(),
                try await fixture.store.login(user.id).started(),
            ]
            let rs = try fixture.prefix(of: user.id) + "rs"
            let endedAt = fixture.clock.milliseconds
            try await fixture.store.endSession(sessions[0].sessionID, reason: "logout", actor: "t")

            // At the record's score it is kept: a token may still be live up to that moment.
            fixture.clock.advance(milliseconds: Self.retention)
            try await fixture.store.endSession(sessions[1].sessionID, reason: "logout", actor: "t")
            #expect(try await fixture.score(rs, sessions[0].sessionID) == endedAt + Self.retention)

            // One millisecond later it is dropped by the next write to the set.
            fixture.clock.advance(milliseconds: 1)
            try await fixture.store.endSession(sessions[2].sessionID, reason: "logout", actor: "t")
            #expect(try await fixture.score(rs, sessions[0].sessionID) == nil)
            #expect(try await fixture.raw("ZCARD", rs) == .integer(2))
        }
    }

    @Test(arguments: RedisTopologyUnderTest.underTest)
    func revokingAnAccessTokenIDRecordsItGloballyUntilTheTokenExpires(topology: RedisTopologyUnderTest) async throws {
        try await withStore(topology: topology) { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let started = try await fixture.store.login(user.id).started()
            let issuedAt = fixture.clock.seconds
            let expiresAt = issuedAt + 300

            let (revoked, events) = try await fixture.eventsAppended {
                try await fixture.store.revokeTokenID(
                    "jti-1", expiresAt: expiresAt, actor: "cli:root", userID: user.id, sessionID: started.sessionID,
                    clientID: "notes")
            }

            #expect(revoked)
            #expect(try await fixture.score("hp:{hg}:rj", "jti-1") == (expiresAt + HallpassStore.clockSkewAllowance) * 1000)
            #expect(events.count == 1)
            let event = try #require(events.first)
            #expect(event.type == "token_revoked")
            #expect(event.stream == "hp:{hg}:ev")
            #expect(event.user == user.id)
            #expect(event.session == started.sessionID)
            #expect(event.client == "notes")
            #expect(event.actor == "cli:root")
            #expect(event.detail == "jti-1")

            #expect(try await fixture.store.isRevoked(Self.facts(started, user: user.id, jti: "jti-1", issuedAt: issuedAt)))
            #expect(try await fixture.store.isRevoked(Self.facts(started, user: user.id, jti: "jti-2", issuedAt: issuedAt)) == false)
            // One token, not the session.
            #expect(try await fixture.store.session(id: started.sessionID) != nil)

            // Without a known expiry (the ops CLI) the record lasts the longest token lifetime.
            #expect(try await fixture.store.revokeTokenID("jti-3", expiresAt: nil, actor: "cli:root"))
            #expect(try await fixture.score("hp:{hg}:rj", "jti-3") == fixture.clock.milliseconds + Self.retention)

            #expect(await storeError { try await fixture.store.revokeTokenID("", expiresAt: nil, actor: "t") }?.kind == "invalidArgument")
            let long = String(repeating: "j", count: 129)
            #expect(await storeError { try await fixture.store.revokeTokenID(long, expiresAt: nil, actor: "t") }?.kind == "invalidArgument")
        }
    }

    @Test func revokingAnAlreadyRevokedTokenIDAgainReportsItWasNotNew() async throws {
        try await withStore { fixture async throws in
            #expect(try await fixture.store.revokeTokenID("jti-1", expiresAt: nil, actor: "cli:root"))
            #expect(try await fixture.store.revokeTokenID("jti-1", expiresAt: nil, actor: "cli:root") == false)
            // Later (as when an admin runs `tokens revoke` twice) it is still not new, though the
            // record is kept longer.
            fixture.clock.advance(seconds: 60)
            #expect(try await fixture.store.revokeTokenID("jti-1", expiresAt: nil, actor: "cli:root") == false)
            #expect(try await fixture.score("hp:{hg}:rj", "jti-1") == fixture.clock.milliseconds + Self.retention)
            // An earlier expiry never shortens a record.
            #expect(try await fixture.store.revokeTokenID("jti-1", expiresAt: fixture.clock.seconds, actor: "t") == false)
            #expect(try await fixture.score("hp:{hg}:rj", "jti-1") == fixture.clock.milliseconds + Self.retention)
            // Once its record has lapsed, revoking it again is a new revocation.
            fixture.clock.advance(milliseconds: Self.retention + 1)
            #expect(try await fixture.store.revokeTokenID("jti-1", expiresAt: nil, actor: "cli:root"))
        }
    }

    @Test func revokedTokenIDsArePrunedByTheNextRevocationOnceExpired() async throws {
        try await withStore { fixture async throws in
            #expect(try await fixture.store.revokeTokenID("old", expiresAt: fixture.clock.seconds + 300, actor: "t"))
            let score = try #require(try await fixture.score("hp:{hg}:rj", "old"))
            fixture.clock.advance(milliseconds: score - fixture.clock.milliseconds + 1)
            #expect(try await fixture.store.revokeTokenID("new", expiresAt: nil, actor: "t"))
            #expect(try await fixture.raw("ZRANGE", "hp:{hg}:rj", 0, -1) == .array([.bulkString(Array("new".utf8))]))
        }
    }

    @Test(arguments: RedisTopologyUnderTest.underTest)
    func endSessionsOfAUserWithRevokeIssuedTokensWritesTheNotBeforeWatermark(topology: RedisTopologyUnderTest) async throws {
        try await withStore(topology: topology) { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let first = try await fixture.store.login(user.id).started()
            let second = try await fixture.store.login(user.id).started()
            let issuedBefore = fixture.clock.seconds
            fixture.clock.advance(seconds: 5)
            let watermark = fixture.clock.seconds

            let (count, events) = try await fixture.eventsAppended {
                try await fixture.store.endSessions(ofUser: user.id, reason: "forced_logout", actor: "cli:root", revokeIssuedTokens: true)
            }

            #expect(count == 2)
            let prefix = try fixture.prefix(of: user.id)
            #expect(try await fixture.raw("HGET", prefix + "u:" + user.id, "nbf").int == watermark)
            #expect(try await fixture.score(prefix + "nbf", user.id) == watermark)
            #expect(try await fixture.store.user(id: user.id)?.notBefore == watermark)
            #expect(try await fixture.store.sessions(ofUser: user.id).isEmpty)
            #expect(try await fixture.raw("EXISTS", prefix + "us:" + user.id) == .integer(0))
            #expect(events.map(\.type) == ["session_ended", "session_ended", "user_tokens_revoked"])
            #expect(Set(events.prefix(2).map(\.session)) == [first.sessionID, second.sessionID])
            #expect(events.allSatisfy { $0.user == user.id && $0.actor == "cli:root" })
            #expect(events.prefix(2).allSatisfy { $0.detail == "forced_logout" })
            #expect(events.last?.detail == "\(watermark)")

            // A new login after the watermark works; its tokens are good, older ones are void
            // even though the new session is live.
            fixture.clock.advance(seconds: 1)
            let next = try await fixture.store.login(user.id).started()
            #expect(next.userNotBefore == watermark)
            #expect(try await fixture.store.isRevoked(Self.facts(next, user: user.id, issuedAt: fixture.clock.seconds)) == false)
            #expect(try await fixture.store.isRevoked(Self.facts(next, user: user.id, issuedAt: watermark)))
            #expect(try await fixture.store.isRevoked(Self.facts(next, user: user.id, issuedAt: issuedBefore)))
            let grant = try await fixture.store.rotate(next.refreshToken, clientID: "notes", grace: 10_000, actor: "t").rotated()
            #expect(grant.userNotBefore == watermark)
        }
    }

    @Test func endSessionsOfAUserWithoutRevokeIssuedTokensLeavesNoWatermark() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let started = try await fixture.store.login(user.id).started()
            let (count, events) = try await fixture.eventsAppended {
                try await fixture.store.endSessions(ofUser: user.id, reason: "forced_logout", actor: "cli:root")
            }
            #expect(count == 1)
            #expect(events.map(\.type) == ["session_ended"])
            #expect(try await fixture.store.user(id: user.id)?.notBefore == 0)
            #expect(try await fixture.raw("EXISTS", try fixture.prefix(of: user.id) + "nbf") == .integer(0))
            #expect(try await fixture.store.isRevoked(Self.facts(started, user: user.id, issuedAt: fixture.clock.seconds)))
            #expect(try await fixture.store.endSessions(ofUser: user.id, reason: "again", actor: "t") == 0)

            let stranger = try Identifiers.make()
            #expect(await storeError { try await fixture.store.endSessions(ofUser: stranger, reason: "x", actor: "t") }?.kind == "notFound")
        }
    }

    @Test func watermarksArePrunedFromTheShardSetOnceTheyCoverNoLiveToken() async throws {
        try await withStore { fixture async throws in
            let (first, second) = try await twoUsersInOneShard(fixture.store)
            let nbf = try fixture.prefix(of: first.id) + "nbf"
            let firstWatermark = fixture.clock.seconds
            try await fixture.store.endSessions(ofUser: first.id, reason: "x", actor: "t", revokeIssuedTokens: true)
            #expect(try await fixture.score(nbf, first.id) == firstWatermark)

            fixture.clock.advance(milliseconds: Self.retention + 1000)
            try await fixture.store.endSessions(ofUser: second.id, reason: "x", actor: "t", revokeIssuedTokens: true)
            #expect(try await fixture.score(nbf, first.id) == nil)
            #expect(try await fixture.score(nbf, second.id) == fixture.clock.seconds)
            // The user record keeps its watermark; only the validators' set forgets it.
            #expect(try await fixture.store.user(id: first.id)?.notBefore == firstWatermark)
        }
    }

    @Test(arguments: RedisTopologyUnderTest.underTest)
    func revokeGrantRevokesOnlyThatClientsGrantAndTheSessionEndsWithItsLastGrant(topology: RedisTopologyUnderTest) async throws {
        try await withStore(topology: topology) { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let started = try await fixture.store.login(user.id, client: "notes").started()
            let prefix = try fixture.prefix(of: user.id)
            let key = prefix + "s:" + started.sessionID
            // A second client joins the session as single sign-on will make it: the store has no
            // call for that yet, so the test writes the grant's fields as startSession does.
            let wiki = try RefreshToken.issue(sessionID: started.sessionID)
            _ = try await fixture.raw("HSET", key, "g:wiki", wiki.grantID, "r:wiki", wiki.verifier, "sc:wiki", "openid")
            let issuedAt = fixture.clock.seconds
            fixture.clock.advance(seconds: 7)
            let revokedAt = fixture.clock.seconds

            let (ended, events) = try await fixture.eventsAppended {
                try await fixture.store.revokeGrant(started.refreshToken, clientID: "notes", actor: "notes")
            }

            #expect(ended == false)
            let session = try #require(try await fixture.store.session(id: started.sessionID))
            #expect(session.clients == ["wiki"])
            let member = "\(started.sessionID) notes \(revokedAt)"
            #expect(try await fixture.score(prefix + "rg", member) == fixture.clock.milliseconds + Self.retention)
            #expect(try await fixture.raw("ZCARD", prefix + "rg") == .integer(1))
            #expect(try await fixture.raw("HGET", key, "w:notes").int == revokedAt)
            #expect(events.map(\.type) == ["grant_revoked"])
            #expect(events.first?.user == user.id)
            #expect(events.first?.session == started.sessionID)
            #expect(events.first?.client == "notes")
            #expect(events.first?.actor == "notes")

            #expect(try await fixture.store.isRevoked(Self.facts(started, user: user.id, client: "notes", issuedAt: issuedAt)))
            #expect(try await fixture.store.isRevoked(Self.facts(started, user: user.id, client: "notes", issuedAt: revokedAt)))
            #expect(try await fixture.store.isRevoked(Self.facts(started, user: user.id, client: "wiki", issuedAt: issuedAt)) == false)
            #expect(try await fixture.store.rotate(started.refreshToken, clientID: "notes", grace: 10_000, actor: "t") == .invalid)
            #expect(try await fixture.store.liveGrant(for: started.refreshToken) == nil)
            #expect(try await fixture.store.revokeGrant(started.refreshToken, clientID: "notes", actor: "t") == nil)

            // The wiki's grant still refreshes; revoking it, the last one, ends the session.
            let wikiNext = try await fixture.store.rotate(wiki, clientID: "wiki", grace: 10_000, actor: "t").rotated().refreshToken
            #expect(try await fixture.store.revokeGrant(wikiNext, clientID: "notes", actor: "t") == nil)
            let (lastEnded, lastEvents) = try await fixture.eventsAppended {
                try await fixture.store.revokeGrant(wikiNext, clientID: "wiki", actor: "wiki")
            }
            #expect(lastEnded == true)
            #expect(lastEvents.map(\.type) == ["grant_revoked", "session_ended"])
            #expect(lastEvents.last?.detail == "last_grant_revoked")
            #expect(try await fixture.store.session(id: started.sessionID) == nil)
            #expect(try await fixture.score(prefix + "rs", started.sessionID) == fixture.clock.milliseconds + Self.retention)
            #expect(try await fixture.store.isRevoked(Self.facts(started, user: user.id, client: "wiki", issuedAt: fixture.clock.seconds)))
        }
    }

    @Test func aJustRotatedTokenCanStillRevokeItsGrant() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let started = try await fixture.store.login(user.id).started()
            let successor = try await fixture.store.rotate(started.refreshToken, clientID: "notes", grace: 10_000, actor: "t").rotated()
            // A client that lost the rotation's answer revokes with the token it still holds.
            #expect(try await fixture.store.revokeGrant(started.refreshToken, clientID: "notes", actor: "notes") == true)
            #expect(try await fixture.store.liveGrant(for: successor.refreshToken) == nil)
            #expect(try await fixture.store.session(id: started.sessionID) == nil)
        }
    }

    @Test func revokedGrantRecordsArePrunedByTheNextRevocationOnceExpired() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let first = try await fixture.store.login(user.id).started()
            let second = try await fixture.store.login(user.id).started()
            let rg = try fixture.prefix(of: user.id) + "rg"
            #expect(try await fixture.store.revokeGrant(first.refreshToken, clientID: "notes", actor: "t") == true)
            #expect(try await fixture.raw("ZCARD", rg) == .integer(1))

            fixture.clock.advance(milliseconds: Self.retention + 1)
            #expect(try await fixture.store.revokeGrant(second.refreshToken, clientID: "notes", actor: "t") == true)
            let members = try await fixture.raw("ZRANGE", rg, 0, -1).array?.compactMap(\.string) ?? []
            #expect(members == ["\(second.sessionID) notes \(fixture.clock.seconds)"])
        }
    }

    @Test(arguments: RedisTopologyUnderTest.underTest)
    func isRevokedHoldsForEveryWayATokenCanBeVoided(topology: RedisTopologyUnderTest) async throws {
        try await withStore(topology: topology) { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let started = try await fixture.store.login(user.id).started()
            let now = fixture.clock.seconds
            let good = Self.facts(started, user: user.id, issuedAt: now)
            #expect(try await fixture.store.isRevoked(good) == false)

            // Facts that do not match what is stored are void.
            var wrongUser = good
            wrongUser.userID = try Identifiers.make()
            #expect(try await fixture.store.isRevoked(wrongUser))
            var garbageSession = good
            garbageSession.sessionID = "-"
            #expect(try await fixture.store.isRevoked(garbageSession))
            var unknownSession = good
            unknownSession.sessionID = try Identifiers.make(inShardOf: user.id)
            #expect(try await fixture.store.isRevoked(unknownSession))
            var garbageUser = good
            garbageUser.userID = "ALICE"
            #expect(try await fixture.store.isRevoked(garbageUser))

            // A disabled user's tokens are void at once.
            try await fixture.store.disableUser(user.id, actor: "cli:root")
            #expect(try await fixture.store.isRevoked(good))
        }
    }
}
