import HallpassRedis
import HallpassTestSupport
import Testing

@testable import HallpassStore

/// Every key a script touches is one of its KEYS: a cluster routes a script, and decides
/// whether it may run while its slot migrates, by those alone (see ``Scripts``). Keys found by
/// reading are read and declared by the store first; these tests give the scripts too few.
@Suite("Scripts declare every key they touch")
struct DeclaredKeysTests {
    @Test func aScriptRefusesAKeyItWasNotGiven() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("carol")
            let prefix = try fixture.prefix(of: user.id)
            let error = try await #require(throws: RedisError.self) {
                // The user record declared, its shard's event stream not.
                try await fixture.redis.evalScript(
                    Scripts.updateUser, keys: [StoreSchema.user(user.id, prefix: prefix)],
                    arguments: [prefix, 100, user.id, "user_updated", "t", ""])
            }
            #expect("\(error)".contains("undeclared key \(prefix)ev"), "\(error)")
        }
    }

    @Test func endingASessionWithoutItsUsersIndexDeclaredWritesNothingAndTheStoreRetries() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let started = try await fixture.store.login(user.id).started()
            let prefix = try fixture.prefix(of: user.id)
            let events = try #require(try await fixture.raw("XLEN", prefix + "ev").int)

            // Declared as if the session's user were unknown: the script reads the user from
            // the session, finds their index undeclared, and stops before any write.
            let error = try await #require(throws: RedisError.self) {
                try await fixture.redis.evalScript(
                    Scripts.endSession, keys: StoreSchema.sessionKeys(started.sessionID, userID: nil, prefix: prefix),
                    arguments: [prefix, 100, fixture.clock.milliseconds, fixture.clock.milliseconds + 60_000, "test", "t"])
            }
            #expect("\(error)".contains("KEYSCHANGED \(prefix)us:\(user.id) was not declared"), "\(error)")
            #expect(try await fixture.store.session(id: started.sessionID) != nil)
            #expect(try await fixture.raw("XLEN", prefix + "ev") == .integer(events))
            #expect(try await fixture.raw("ZSCORE", prefix + "rs", started.sessionID) == .null)

            // The store reads whose session it is first.
            #expect(try await fixture.store.endSession(started.sessionID, reason: "test", actor: "t") == user.id)
            #expect(try await fixture.store.session(id: started.sessionID) == nil)
        }
    }

    @Test func disablingAUserWhoseSessionsWereNotAllDeclaredWritesNothing() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("bob")
            let first = try await fixture.store.login(user.id).started()
            let second = try await fixture.store.login(user.id).started()
            let prefix = try fixture.prefix(of: user.id)
            let now = fixture.clock.milliseconds
            // Only the first session declared, as if the second had started after the read.
            let keys = [StoreSchema.user(user.id, prefix: prefix), StoreSchema.userSessions(user.id, prefix: prefix),
                        StoreSchema.notBefore(prefix: prefix)]
                + StoreSchema.shardKeys(prefix: prefix) + StoreSchema.sessionsAndLogoutStatus([first.sessionID], prefix: prefix)
            let error = try await #require(throws: RedisError.self) {
                try await fixture.redis.evalScript(
                    Scripts.endUserSessions, keys: keys,
                    arguments: [prefix, 100, user.id, now, now + 60_000, "user_disabled", "t", now / 1000, "1", 0])
            }
            #expect("\(error)".contains("KEYSCHANGED"), "\(error)")
            // Not disabled, no session ended.
            #expect(try await fixture.raw("HGET", StoreSchema.user(user.id, prefix: prefix), "dis").string == "0")
            #expect(try await fixture.store.session(id: first.sessionID) != nil)
            #expect(try await fixture.store.session(id: second.sessionID) != nil)

            let ended = try await fixture.store.disableUserReturningSessionIDs(user.id, actor: "t")
            #expect(Set(ended) == [first.sessionID, second.sessionID])
        }
    }
}
