import HallpassCrypto
import HallpassRedis
import HallpassTestSupport
import Testing

@testable import HallpassStore

@Suite("Users")
struct UserTests {
    @Test(arguments: RedisTopologyUnderTest.underTest)
    func aCreatedUserHasAWellFormedIDWhoseFirstCharacterNamesItsShard(topology: RedisTopologyUnderTest) async throws {
        try await withStore(topology: topology) { fixture async throws in
            let user = try await fixture.store.createUser(
                username: "Alice", passwordHash: somePasswordHash, name: "Alice Liddell", email: "alice@example.org",
                actor: "cli:root")

            #expect(user.id.utf8.count == 26)
            #expect(Identifiers.isWellFormed(user.id))
            #expect(Base32.decode(user.id)?.count == 16)
            let shard = try #require(StoreSchema.shard(of: user.id))
            #expect((0..<StoreSchema.shardCount).contains(shard))
            // The record lives under the key the schema documents, in the shard the id names.
            #expect(try await fixture.raw("EXISTS", "hp:{h\(String(shard, radix: 16))}:u:\(user.id)") == .integer(1))
            #expect(try await fixture.raw("HGET", "hp:{hg}:names", "alice").string == user.id)

            let stored = try #require(try await fixture.store.user(id: user.id))
            #expect(stored == user)
            #expect(stored.username == "Alice")
            #expect(stored.name == "Alice Liddell")
            #expect(stored.email == "alice@example.org")
            #expect(stored.passwordHash == somePasswordHash)
            #expect(!stored.isDisabled)
            #expect(stored.singleLoginPolicy == nil)
            #expect(stored.notBefore == 0)
            #expect(stored.createdAt == fixture.clock.seconds)
            #expect(try await fixture.store.user(named: "ALICE") == user)
            #expect(try await fixture.store.userID(forUsername: "aLiCe") == user.id)
            #expect(try await fixture.store.user(named: "bob") == nil)
        }
    }

    @Test(arguments: RedisTopologyUnderTest.underTest)
    func aUsernameTakenInAnyCaseIsAConflictAndWritesNothing(topology: RedisTopologyUnderTest) async throws {
        try await withStore(topology: topology) { fixture async throws in
            let alice = try await fixture.store.makeUser("Alice")
            for spelling in ["Alice", "alice", "ALICE", "aLiCe"] {
                let error = await storeError { try await fixture.store.makeUser(spelling) }
                #expect(error?.kind == "conflict", "\(spelling)")
            }
            #expect(try await fixture.raw("HLEN", "hp:{hg}:names") == .integer(1))
            #expect(try await fixture.keys(matching: "hp:*:u:*").count == 1)
            #expect(try await fixture.store.user(named: "alice")?.id == alice.id)
        }
    }

    @Test(arguments: [
        "-alice",  // could pass for a command-line option
        String(repeating: "a", count: 65),
        "alice smith",
        "alice\t",
        "",
        "ålice",
        "alice/bob",
        "alice:bob",
        "{hg}",
    ])
    func anInvalidUsernameIsRefusedBeforeAnythingIsWritten(_ username: String) async throws {
        try await withStore { fixture async throws in
            let error = await storeError { try await fixture.store.makeUser(username) }
            #expect(error?.kind == "invalidArgument")
            #expect(try await fixture.raw("DBSIZE") == .integer(0))
        }
    }

    @Test func usernamesUpToSixtyFourCharactersOfTheAllowedSetAreAccepted() async throws {
        try await withStore { fixture async throws in
            for username in [String(repeating: "a", count: 64), "a", "Alice.Smith_2+test@example.org", "a-b"] {
                let user = try await fixture.store.makeUser(username)
                #expect(try await fixture.store.user(named: username)?.id == user.id)
            }
        }
    }

    @Test func aDanglingUsernameClaimIsTakenOverByTheNextCreate() async throws {
        try await withStore { fixture async throws in
            // What a create interrupted between claiming the name and writing the record leaves.
            let abandoned = try Identifiers.make()
            #expect(try await fixture.raw("HSET", "hp:{hg}:names", "bob", abandoned) == .integer(1))
            #expect(try await fixture.store.user(named: "bob") == nil)

            let bob = try await fixture.store.makeUser("Bob")
            #expect(bob.id != abandoned)
            #expect(try await fixture.raw("HGET", "hp:{hg}:names", "bob").string == bob.id)
            #expect(try await fixture.store.user(named: "bob")?.id == bob.id)
            // The claim now has its record, so it is no longer up for grabs.
            #expect(await storeError { try await fixture.store.makeUser("bob") }?.kind == "conflict")
        }
    }

    @Test(arguments: RedisTopologyUnderTest.underTest)
    func usersListsEveryUserOrderedByUsernameIgnoringCaseAndSkipsDanglingClaims(topology: RedisTopologyUnderTest) async throws {
        try await withStore(topology: topology) { fixture async throws in
            #expect(try await fixture.store.users().isEmpty)
            let carol = try await fixture.store.makeUser("carol")
            let alice = try await fixture.store.makeUser("Alice")
            let bob = try await fixture.store.makeUser("bob")
            _ = try await fixture.raw("HSET", "hp:{hg}:names", "zed", try Identifiers.make())

            let users = try await fixture.store.users()
            #expect(users.map(\.username) == ["Alice", "bob", "carol"])
            #expect(users.map(\.id) == [alice.id, bob.id, carol.id])
        }
    }

    @Test func setPasswordHashReplacesOnlyTheHash() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let session = try await fixture.store.login(user.id).started()
            let newHash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdG5ld3NhbHQ$bmV3aGFzaG5ld2hhc2huZXdoYXNobmV3aGFzaG5ld2g"

            try await fixture.store.setPasswordHash(userID: user.id, passwordHash: newHash, actor: "cli:root")

            var expected = user
            expected.passwordHash = newHash
            #expect(try await fixture.store.user(id: user.id) == expected)
            // Changing a password is not losing it: the session goes on.
            #expect(try await fixture.store.session(id: session.sessionID) != nil)

            let stranger = try Identifiers.make()
            let unknown = await storeError {
                try await fixture.store.setPasswordHash(userID: stranger, passwordHash: newHash, actor: "t")
            }
            #expect(unknown?.kind == "notFound")
            #expect(await storeError { try await fixture.store.setPasswordHash(userID: "-x", passwordHash: newHash, actor: "t") }?.kind == "notFound")
        }
    }

    @Test func aPerUserPolicyOverridesTheDefaultUntilCleared() async throws {
        try await withStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            try await fixture.store.setSingleLoginPolicy(.denyNew, forUser: user.id, actor: "cli:root")
            #expect(try await fixture.store.user(id: user.id)?.singleLoginPolicy == .denyNew)

            // The hub's default is newest-wins, but the user's own deny-new applies.
            let first = try await fixture.store.login(user.id, policy: .newestWins).started()
            #expect(try await fixture.store.login(user.id, policy: .newestWins) == .sessionExists)

            try await fixture.store.setSingleLoginPolicy(nil, forUser: user.id, actor: "cli:root")
            #expect(try await fixture.store.user(id: user.id)?.singleLoginPolicy == nil)
            let second = try await fixture.store.login(user.id, policy: .newestWins).started()
            #expect(second.endedSessions == [first.sessionID])

            try await fixture.store.setSingleLoginPolicy(.off, forUser: user.id, actor: "cli:root")
            #expect(try await fixture.store.user(id: user.id)?.singleLoginPolicy == .off)
            #expect(try await fixture.store.login(user.id, policy: .denyNew).started().endedSessions.isEmpty)
            #expect(try await fixture.store.sessions(ofUser: user.id).count == 2)

            let stranger = try Identifiers.make()
            let unknown = await storeError { try await fixture.store.setSingleLoginPolicy(.off, forUser: stranger, actor: "t") }
            #expect(unknown?.kind == "notFound")
        }
    }

    @Test(arguments: RedisTopologyUnderTest.underTest)
    func disablingAUserEndsTheirSessionsAndEnablingLetsThemBackIn(topology: RedisTopologyUnderTest) async throws {
        try await withStore(topology: topology) { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let first = try await fixture.store.login(user.id).started()
            let second = try await fixture.store.login(user.id).started()

            #expect(try await fixture.store.disableUser(user.id, actor: "cli:root") == 2)
            let disabled = try #require(try await fixture.store.user(id: user.id))
            #expect(disabled.isDisabled)
            #expect(disabled.notBefore == fixture.clock.seconds)
            #expect(try await fixture.store.session(id: first.sessionID) == nil)
            #expect(try await fixture.store.session(id: second.sessionID) == nil)
            #expect(try await fixture.store.login(user.id) == .userDisabled)
            #expect(try await fixture.store.rotate(first.refreshToken, clientID: "notes", grace: 10_000, actor: "t") == .invalid)

            try await fixture.store.enableUser(user.id, actor: "cli:root")
            #expect(try await fixture.store.user(id: user.id)?.isDisabled == false)
            fixture.clock.advance(seconds: 1)
            _ = try await fixture.store.login(user.id).started()

            let stranger = try Identifiers.make()
            #expect(await storeError { try await fixture.store.disableUser(stranger, actor: "t") }?.kind == "notFound")
        }
    }
}
