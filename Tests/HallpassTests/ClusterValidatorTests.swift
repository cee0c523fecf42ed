import Hallpass
import HallpassCrypto
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("Validator on a three-master Redis Cluster", .serialized)
struct ClusterValidatorTests {
    @Test("a validator on a cluster sees a revocation written to each of the 17 event streams")
    func revocationsInEveryStream() async throws {
        try await withTestCluster { cluster, redis in
            let store = HallpassStore(redis: redis)
            let now = HallpassStore.wallClockMilliseconds() / 1000
            let key = try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: now, activatesAt: now)
            _ = try await store.addFirstSigningKey(key, actor: "test")
            let signer = try key.signer(kek: nil)
            // A user in every one of the 16 shards.
            var users: [Int: String] = [:]
            var made = 0
            while users.count < StoreSchema.shardCount, made < 400 {
                made += 1
                let user = try await store.createUser(username: "user\(made)", passwordHash: "$argon2id$unused", actor: "test")
                if let shard = StoreSchema.shard(of: user.id), users[shard] == nil { users[shard] = user.id }
            }
            try #require(users.count == StoreSchema.shardCount)
            let fixtures = users.values.map { userID in
                ValidatorFixture(server: cluster.nodes[0], redis: redis, store: store, signer: signer, userID: userID)
            }
            let first = try #require(fixtures.first)

            // Revocations from before the validator starts come from its snapshot.
            let early = try await fixtures[1].login()
            let earlyToken = try fixtures[1].token(session: early.sessionID)
            try await store.endSession(early.sessionID, reason: "logout", actor: "test")

            try await running(try first.validator(url: cluster.url)) { validator in
                #expect(refusal(validator, earlyToken) == .revoked(.session))
                // Each shard's stream: a session ended there.
                for fixture in fixtures {
                    let session = try await fixture.login()
                    let token = try fixture.token(session: session.sessionID)
                    #expect(refusal(validator, token) == nil)
                    try await store.endSession(session.sessionID, reason: "logout", actor: "test")
                    try await waitUntil("the session's end in shard \(StoreSchema.shard(of: fixture.userID) ?? -1)") {
                        refusal(validator, token) == .revoked(.session)
                    }
                }
                // The global stream: one access token revoked.
                let session = try await first.login()
                let token = try first.token(session: session.sessionID, jti: "jti-cluster-1")
                #expect(refusal(validator, token) == nil)
                try await store.revokeTokenID("jti-cluster-1", expiresAt: nil, actor: "test")
                try await waitUntil("the jti revocation in the global stream") { refusal(validator, token) == .revoked(.token) }
                #expect(validator.status == .current)

                // A shard's slot moves to another master while the validator tails it: the
                // tail's next read there is MOVED, it regroups and resumes, and a revocation in
                // that shard written after the move still arrives.
                let moved = fixtures[2]
                let shard = try #require(StoreSchema.shard(of: moved.userID))
                try await cluster.moveSlot(RedisSlot.of("h" + String(shard, radix: 16)))
                let after = try await moved.login()
                let afterToken = try moved.token(session: after.sessionID)
                try await store.endSession(after.sessionID, reason: "logout", actor: "test")
                try await waitUntil("the session's end in the moved shard", seconds: 15) {
                    refusal(validator, afterToken) == .revoked(.session)
                }
                try await waitUntil("the validator to be current again", seconds: 15) { validator.status == .current }
            }
        }
    }

    @Test("the validator's least-privilege user works on a cluster once it may also run CLUSTER SHARDS and ASKING")
    func leastPrivilegeUser() async throws {
        try await withTestCluster { cluster, redis in
            // ACL users are per node: every node gets the same one.
            let rules = StoreSchema.validatorACLRules.split(separator: " ").map(String.init)
            for index in cluster.nodes.indices {
                _ = try await cluster.cli(index, ["ACL", "SETUSER", "hallpass-validator", "on", ">validator-secret"] + rules)
            }
            let store = HallpassStore(redis: redis)
            let now = HallpassStore.wallClockMilliseconds() / 1000
            let key = try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: now, activatesAt: now)
            _ = try await store.addFirstSigningKey(key, actor: "test")
            let user = try await store.createUser(username: "alice", passwordHash: "$argon2id$unused", actor: "test")
            let fixture = ValidatorFixture(
                server: cluster.nodes[0], redis: redis, store: store, signer: try key.signer(kek: nil), userID: user.id)
            let url = cluster.url.replacingOccurrences(of: "redis+cluster://", with: "redis+cluster://hallpass-validator:validator-secret@")
            try await running(try fixture.validator(url: url)) { validator in
                let session = try await fixture.login()
                let token = try fixture.token(session: session.sessionID)
                #expect(refusal(validator, token) == nil)
                try await store.endSession(session.sessionID, reason: "logout", actor: "test")
                try await waitUntil("the session's end") { refusal(validator, token) == .revoked(.session) }
            }
        }
    }
}
