import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("Back-channel logout queue and the expiry sweep")
struct LogoutQueueTests {
    @Test("ending a session queues one delivery per client; a claim hides it for the lease; retry, then delivered")
    func claimRetryDeliver() async throws {
        try await withStore { fixture in
            let store = fixture.store
            let user = try await store.makeUser("ann")
            let session = try await store.login(user.id).started()
            #expect(try await store.logoutQueueDepth() == 0)
            #expect(try await store.endSession(session.sessionID, reason: "revoked", actor: "test") == user.id)
            #expect(try await store.logoutQueueDepth() == 1)
            let pending = try await store.logoutDeliveries(sessionIDs: [session.sessionID])
            #expect(pending.count == 1)
            #expect(pending.first?.clientID == "notes" && pending.first?.state == .pending && pending.first?.attempts == 0)
            #expect(pending.first?.lastError == "")

            let shard = try #require(StoreSchema.shard(of: session.sessionID))
            let claimed = try await store.claimLogoutDeliveries(shard: shard, lease: 60_000)
            #expect(claimed.count == 1)
            let first = try #require(claimed.first)
            #expect(first.sessionID == session.sessionID && first.clientID == "notes" && first.userID == user.id && first.attempt == 1)
            // Leased: no other claim gets it, even on another shard's call.
            #expect(try await store.claimLogoutDeliveries(shard: shard).isEmpty)
            fixture.clock.advance(milliseconds: 59_000)
            #expect(try await store.claimLogoutDeliveries(shard: shard).isEmpty)

            try await store.finishLogoutDelivery(first, .retry(nextAttempt: fixture.clock.milliseconds + 1000, error: "HTTP 500"))
            #expect(try await store.claimLogoutDeliveries(shard: shard).isEmpty)
            fixture.clock.advance(milliseconds: 1000)
            let second = try #require(try await store.claimLogoutDeliveries(shard: shard).first)
            #expect(second.attempt == 2)
            #expect(try await store.logoutDeliveries(sessionIDs: [session.sessionID]).first?.lastError == "HTTP 500")
            try await store.finishLogoutDelivery(second, .delivered)
            let done = try #require(try await store.logoutDeliveries(sessionIDs: [session.sessionID]).first)
            #expect(done.state == .delivered && done.attempts == 2)
            #expect(try await store.logoutQueueDepth() == 0)
            // The status record expires on its own.
            let ttl = try await fixture.raw("PTTL", try fixture.prefix(of: session.sessionID) + "bl:" + session.sessionID).int ?? 0
            #expect(ttl > 47 * 3600 * 1000 && ttl <= HallpassStore.logoutStatusRetention)
        }
    }

    @Test("a lapsed lease (a hub died mid-send) makes the delivery claimable again: at least once")
    func leaseLapses() async throws {
        try await withStore { fixture in
            let store = fixture.store
            let user = try await store.makeUser("bea")
            let session = try await store.login(user.id).started()
            _ = try await store.endSessions(ofUser: user.id, reason: "forced_logout", actor: "test")
            let shard = try #require(StoreSchema.shard(of: session.sessionID))
            #expect(try await store.claimLogoutDeliveries(shard: shard, lease: 5000).count == 1)
            fixture.clock.advance(milliseconds: 5001)
            let again = try await store.claimLogoutDeliveries(shard: shard, lease: 5000)
            #expect(again.count == 1 && again.first?.attempt == 2)
            try await store.finishLogoutDelivery(try #require(again.first), .skipped)
            #expect(try await store.logoutDeliveries(sessionIDs: [session.sessionID]).isEmpty)
            #expect(try await store.logoutQueueDepth() == 0)
        }
    }

    @Test("a session whose expiry has already passed when its script runs is still swept, ended and announced")
    func expiredOnArrival() async throws {
        try await withStore { fixture in
            let store = fixture.store
            let user = try await store.makeUser("dot")
            // The hub read its clock more than the idle timeout before the script ran (a loaded
            // machine): Redis deletes the session hash as the script sets its expiry.
            let behind = HallpassStore.wallClockMilliseconds() - fixture.clock.milliseconds + 5000
            fixture.clock.advance(milliseconds: -behind)
            let session = try await store.login(user.id, timeouts: SessionTimeouts(idle: 1, absolute: 60)).started()
            let prefix = try fixture.prefix(of: user.id)
            #expect(try await fixture.raw("EXISTS", prefix + "s:" + session.sessionID).int == 0)
            #expect(try await fixture.score(prefix + "sx", session.sessionID) == fixture.clock.milliseconds + 1000)

            fixture.clock.advance(milliseconds: 1001)
            let shard = try #require(StoreSchema.shard(of: user.id))
            let (ended, events) = try await fixture.eventsAppended { try await store.sweepExpiredSessions(shard: shard) }
            #expect(ended == 1)
            #expect(events.map(\.type) == ["session_ended"])
            #expect(events.first?.detail == "idle_timeout")
            #expect(try await store.logoutDeliveries(sessionIDs: [session.sessionID]).map(\.state) == [.pending])
        }
    }

    @Test("a rotation moves the session's sweep deadline and keeps what the sweep needs; an untracked session is tracked again")
    func rotationRetracks() async throws {
        try await withStore { fixture in
            let store = fixture.store
            let user = try await store.makeUser("eve")
            let started = fixture.clock.milliseconds
            let session = try await store.login(user.id, timeouts: SessionTimeouts(idle: 60, absolute: 90)).started()
            let prefix = try fixture.prefix(of: user.id)
            #expect(try await fixture.score(prefix + "sx", session.sessionID) == started + 60_000)
            let meta = try await fixture.raw("HGET", prefix + "sm", session.sessionID).string
            #expect(meta == "\(user.id) \(started + 90_000) notes")

            // The idle deadline moves with the rotation; the metadata stays as it was.
            fixture.clock.advance(seconds: 20)
            var token = try await store.rotate(session.refreshToken, clientID: "notes", grace: 10_000, actor: "t").rotated().refreshToken
            #expect(try await fixture.score(prefix + "sx", session.sessionID) == fixture.clock.milliseconds + 60_000)
            #expect(try await fixture.raw("HGET", prefix + "sm", session.sessionID).string == meta)

            // A second rotation in the same millisecond leaves the score as it is, and the session tracked.
            token = try await store.rotate(token, clientID: "notes", grace: 10_000, actor: "t").rotated().refreshToken
            #expect(try await fixture.score(prefix + "sx", session.sessionID) == fixture.clock.milliseconds + 60_000)

            // Past the point where idle reaches beyond the absolute expiry, the absolute one is the deadline.
            fixture.clock.advance(seconds: 20)
            token = try await store.rotate(token, clientID: "notes", grace: 10_000, actor: "t").rotated().refreshToken
            #expect(try await fixture.score(prefix + "sx", session.sessionID) == started + 90_000)

            // A session missing from the sweep's index (as before the scripts tracked first) is tracked whole again.
            _ = try await fixture.raw("ZREM", prefix + "sx", session.sessionID)
            _ = try await fixture.raw("HDEL", prefix + "sm", session.sessionID)
            fixture.clock.advance(seconds: 1)
            _ = try await store.rotate(token, clientID: "notes", grace: 10_000, actor: "t").rotated()
            #expect(try await fixture.score(prefix + "sx", session.sessionID) == started + 90_000)
            #expect(try await fixture.raw("HGET", prefix + "sm", session.sessionID).string == meta)
        }
    }

    @Test("a session that times out is ended by the sweep like any other end: event, revocation record, delivery")
    func sweep() async throws {
        try await withStore { fixture in
            let store = fixture.store
            let user = try await store.makeUser("cat")
            fixture.clock.catchUpToWallClock()
            let idle = try await store.login(user.id, timeouts: SessionTimeouts(idle: 1, absolute: 60)).started()
            let live = try await store.login(user.id, client: "tasks").started()
            let shard = try #require(StoreSchema.shard(of: user.id))
            #expect(try await store.sweepExpiredSessions(shard: shard) == 0)
            // Redis expires the hash by its own clock; the store's clock decides what is due.
            // Wait for Redis rather than a fixed time.
            let sessionKey = try fixture.prefix(of: user.id) + "s:" + idle.sessionID
            try await waitUntil("Redis to expire the idle session", seconds: 10) {
                try await fixture.raw("EXISTS", sessionKey).int == 0
            }
            fixture.clock.advance(milliseconds: 1100)
            let (ended, events) = try await fixture.eventsAppended { try await store.sweepExpiredSessions(shard: shard) }
            #expect(ended == 1)
            #expect(events.map(\.type) == ["session_ended"])
            #expect(events.first?.session == idle.sessionID && events.first?.detail == "idle_timeout" && events.first?.client == "notes")
            #expect(try await fixture.score(try fixture.prefix(of: user.id) + "rs", idle.sessionID) != nil)
            #expect(try await store.logoutDeliveries(sessionIDs: [idle.sessionID]).map(\.state) == [.pending])
            // Once is enough.
            #expect(try await store.sweepExpiredSessions(shard: shard) == 0)
            #expect(try await store.session(id: live.sessionID) != nil)
            // Ending the live one explicitly untracks it: the sweep never sees it again.
            _ = try await store.endSession(live.sessionID, reason: "revoked", actor: "test")
            fixture.clock.advance(seconds: 11 * 3600)
            #expect(try await store.sweepExpiredSessions(shard: shard) == 0)
            #expect(try await store.logoutQueueDepth() == 2)
        }
    }
}
