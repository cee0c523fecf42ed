import HallpassRedis
import HallpassTestSupport
import Testing

@testable import HallpassStore

/// On a Redis Cluster node, a script with a shebang (as all of ours have) that touches keys of
/// two hash slots fails ("Script attempted to access keys that do not hash to the same slot"),
/// even when the node serves both. One node that owns every slot therefore proves each
/// script's keys share a slot without needing a multi-node cluster.
@Suite("Redis Cluster compatibility")
struct ClusterTests {
    /// Runs `body` against a store over a one-node cluster that owns all 16384 slots.
    func withClusterStore(_ body: (StoreFixture) async throws -> Void) async throws {
        // The cluster bus defaults to the port + 10000, which is out of range for half the
        // ports the kernel hands out, so it gets a free port of its own.
        let arguments = [
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port", "\(try freeLoopbackPort())",
        ]
        try await withStore(serverArguments: arguments) { fixture async throws in
            #expect(try await fixture.raw("CLUSTER", "ADDSLOTSRANGE", 0, 16383) == .simpleString("OK"))
            try await waitUntil("the cluster state to become ok", seconds: 30) {
                try await fixture.raw("CLUSTER", "INFO").string?.contains("cluster_state:ok") == true
            }
            try await body(fixture)
        }
    }

    @Test func theNodeRefusesAStoreScriptWhoseKeysSpanSlots() async throws {
        // The premise of this suite: without it, the flows below would prove nothing. The
        // global-record script is given a shard's prefix, so it would write its event under
        // {h0}. Declared there, the node refuses the call before it runs (CROSSSLOT);
        // undeclared, the script's own check refuses the key.
        try await withClusterStore { fixture async throws in
            let arguments: [any RedisArgument] = ["hp:{h0}:", 100, "policy_changed", "t", "", "set", "single_login", "off"]
            let crossSlot = try await #require(throws: RedisError.self) {
                try await fixture.redis.evalScript(Scripts.writeGlobal, keys: ["hp:{hg}:policy", "hp:{h0}:ev"], arguments: arguments)
            }
            #expect("\(crossSlot)".contains("slot"))
            guard case .server(let message) = crossSlot, message.hasPrefix("CROSSSLOT") else {
                Issue.record("expected the node's CROSSSLOT refusal, got \(crossSlot)")
                return
            }
            let undeclared = try await #require(throws: RedisError.self) {
                try await fixture.redis.evalScript(Scripts.writeGlobal, keys: ["hp:{hg}:policy", "hp:{hg}:ev"], arguments: arguments)
            }
            #expect("\(undeclared)".contains("undeclared key hp:{h0}:ev"))
            #expect(try await fixture.raw("EXISTS", "hp:{h0}:ev") == .integer(0))
            // The same call with the global prefix is fine.
            _ = try await fixture.redis.evalScript(
                Scripts.writeGlobal, keys: ["hp:{hg}:policy", "hp:{hg}:ev"],
                arguments: ["hp:{hg}:", 100, "policy_changed", "t", "", "set", "single_login", "off"])
            #expect(try await fixture.raw("XLEN", "hp:{hg}:ev") == .integer(1))
        }
    }

    @Test func theBrowserFlowRunsOnAClusterNode() async throws {
        try await withClusterStore { fixture async throws in
            try await BrowserSessionTests.flow(fixture.store)
        }
    }

    @Test func everyMainFlowRunsOnAClusterNode() async throws {
        try await withClusterStore { fixture async throws in
            try await Self.mainFlows(fixture)
        }
    }

    /// Users, clients, policies, logins under each single-login policy, rotation, replay,
    /// reuse detection, revocations of every kind, throttles and signing keys: the store's
    /// main flows, run on a one-node cluster here and on a three-master one in
    /// `MultiNodeClusterTests`.
    static func mainFlows(_ fixture: StoreFixture) async throws {
        do {
            let store = fixture.store
            let alice = try await store.makeUser("alice")
            let bob = try await store.makeUser("bob")
            _ = try await store.createClient(id: "notes", confidential: true, grantTypes: ["refresh_token"], actor: "cli:root")
            try await store.setGlobalSingleLoginPolicy(.newestWins, actor: "cli:root")
            try await store.setSingleLoginPolicy(.off, forUser: bob.id, actor: "cli:root")
            try await store.setPasswordHash(userID: alice.id, passwordHash: somePasswordHash, actor: "cli:root")
            #expect(try await store.users().map(\.username) == ["alice", "bob"])

            // newest-wins with an existing session, then rotation, replay and reuse.
            let first = try await store.login(alice.id, policy: .off).started()
            let second = try await store.login(alice.id, policy: .newestWins).started()
            #expect(second.endedSessions == [first.sessionID])
            #expect(try await store.login(alice.id, policy: .denyNew) == .sessionExists)
            let rotated = try await store.rotate(second.refreshToken, clientID: "notes", grace: 10_000, actor: "t").rotated()
            #expect(try await store.rotate(second.refreshToken, clientID: "notes", grace: 10_000, actor: "t").replayed().refreshToken
                == rotated.refreshToken)
            #expect(try await store.liveGrant(for: rotated.refreshToken) != nil)
            #expect(try await store.sessions(ofUser: alice.id).map(\.id) == [second.sessionID])

            // Revoking the grant ends the session with its last grant.
            #expect(try await store.revokeGrant(rotated.refreshToken, clientID: "notes", actor: "notes") == true)

            let third = try await store.login(alice.id).started()
            fixture.clock.advance(seconds: 11)
            _ = try await store.rotate(third.refreshToken, clientID: "notes", grace: 10_000, actor: "t").rotated()
            fixture.clock.advance(seconds: 11)
            #expect(try await store.rotate(third.refreshToken, clientID: "notes", grace: 10_000, actor: "t") == .reuseDetected(userID: alice.id))

            // Forced logout with a watermark, disable, enable, one access token.
            _ = try await store.login(bob.id).started()
            let bobs = try await store.login(bob.id).started()
            #expect(try await store.endSessions(ofUser: bob.id, reason: "forced_logout", actor: "cli:root", revokeIssuedTokens: true) == 2)
            _ = try await store.login(alice.id).started()
            #expect(try await store.disableUser(alice.id, actor: "cli:root") == 1)
            try await store.enableUser(alice.id, actor: "cli:root")
            let fourth = try await store.login(alice.id).started()
            #expect(try await store.endSession(fourth.sessionID, reason: "logout", actor: "t") == alice.id)
            #expect(try await store.revokeTokenID("jti-1", expiresAt: nil, actor: "cli:root", userID: bob.id, sessionID: bobs.sessionID))
            #expect(try await store.isRevoked(
                AccessTokenFacts(tokenID: "jti-1", sessionID: bobs.sessionID, userID: bob.id, clientID: "notes", issuedAt: 1)))
            try await store.appendEvent("login_failed", user: alice.id, actor: "203.0.113.5")

            // Throttles, signing keys.
            let limits = LoginThrottle(perUsername: 1, perAddress: 10, window: 60)
            #expect(try await store.reserveLoginAttempt(username: "alice", address: "203.0.113.5", limits: limits) == nil)
            try await store.releaseLoginAttempt(username: "alice", address: "203.0.113.5")
            let key = try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: 1, activatesAt: 1)
            #expect(try await store.addFirstSigningKey(key, actor: "hub"))
            #expect(try await store.signingKeys() == [key])

            let types = Set(try await store.recentEvents(count: 1000).map(\.type))
            #expect(types.isSuperset(of: [
                "user_created", "login", "login_refused", "refresh", "refresh_reuse_detected", "session_ended", "grant_revoked",
                "user_tokens_revoked", "user_disabled", "user_enabled", "token_revoked", "client_added", "policy_changed",
                "password_changed", "key_added", "login_failed",
            ]))
        }
    }

    @Test func everyKeyOfOneUserHashesToOneSlot() async throws {
        try await withClusterStore { fixture async throws in
            let user = try await fixture.store.makeUser("alice")
            let session = try await fixture.store.login(user.id).started()
            let prefix = try fixture.prefix(of: user.id)
            let keys = [
                prefix + "u:" + user.id, prefix + "us:" + user.id, prefix + "s:" + session.sessionID, prefix + "rs",
                prefix + "rg", prefix + "nbf", prefix + "ev",
            ]
            var slots: Set<Int64> = []
            for key in keys {
                slots.insert(try #require(try await fixture.raw("CLUSTER", "KEYSLOT", key).int))
            }
            #expect(slots.count == 1)

            // The 16 shards and the global tag are 17 distinct slots.
            var shardSlots: Set<Int64> = []
            for shard in 0..<StoreSchema.shardCount {
                shardSlots.insert(try #require(try await fixture.raw("CLUSTER", "KEYSLOT", StoreSchema.shardPrefix(shard) + "ev").int))
            }
            shardSlots.insert(try #require(try await fixture.raw("CLUSTER", "KEYSLOT", "hp:{hg}:ev").int))
            #expect(shardSlots.count == StoreSchema.shardCount + 1)
        }
    }
}
