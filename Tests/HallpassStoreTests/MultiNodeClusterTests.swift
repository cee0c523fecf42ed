import HallpassRedis
import HallpassTestSupport
import Testing

@testable import HallpassStore

/// The store, unchanged, on a real Redis Cluster of three masters and three replicas: the
/// shards' keys sit on different nodes, so every command and script must reach the master of
/// its slot (`HallpassRedis` routes them), and every multi-stream read must be split.
@Suite("The store on a three-master Redis Cluster", .serialized)
struct MultiNodeClusterTests {
    /// Runs `body` against a store over a fresh three-master cluster; stops it afterwards.
    func withMultiNodeClusterStore(_ body: (StoreFixture) async throws -> Void) async throws {
        try await withTestCluster { cluster, redis in
            let clock = TestClock()
            let store = HallpassStore(redis: redis, clock: clock.read)
            try await body(StoreFixture(server: cluster.nodes[0], masters: cluster.nodes, redis: redis, clock: clock, store: store))
        }
    }

    @Test func theStoresFlowsRunOnAThreeMasterCluster() async throws {
        try await withMultiNodeClusterStore { fixture in
            // The premise: the 17 tags are spread over the three masters.
            let tags = try await fixture.redis.placement(ofKeys: StoreSchema.eventStreams)
            #expect(Set(tags.compactMap(\.node)).count == 3, "\(tags)")

            try await ClusterTests.mainFlows(fixture)
            try await BrowserSessionTests.flow(fixture.store)
            try await DeviceAuthorizationStoreTests.flow(fixture)
        }
    }

    @Test func snapshotPositionsAndTheTailSpanEveryMaster() async throws {
        try await withMultiNodeClusterStore { fixture in
            let store = fixture.store
            // A user (and so a session and its revocation) in every one of the 16 shards.
            var shards: [Int: UserRecord] = [:]
            var made = 0
            while shards.count < StoreSchema.shardCount, made < 400 {
                made += 1
                let user = try await store.makeUser("user\(made)")
                if let shard = StoreSchema.shard(of: user.id), shards[shard] == nil { shards[shard] = user }
            }
            #expect(shards.count == StoreSchema.shardCount)

            let tail = try await EventLogTail.open(redis: fixture.redis)
            #expect(tail.connectionCount == 3)
            let positions = try await store.eventStreamPositions()
            var ended: Set<String> = []
            for user in shards.values {
                let session = try await store.login(user.id).started()
                #expect(try await store.endSession(session.sessionID, reason: "logout", actor: "t") == user.id)
                ended.insert(session.sessionID)
            }
            #expect(try await store.revokeTokenID("jti-cluster", expiresAt: nil, actor: "t"))

            // The tail sees every stream's events, on whichever master it lives.
            var seen: [StoreEvent] = []
            var current = positions
            try await waitUntil("every stream's events through the tail", seconds: 10) {
                let events = try await tail.read(after: current, count: 1000, block: 100)
                for event in events { current[event.stream] = event.id }
                seen += events
                return Set(seen.filter { $0.type == "session_ended" }.map(\.session)) == ended
                    && seen.contains { $0.type == "token_revoked" }
            }
            #expect(Set(seen.map(\.stream)) == Set(StoreSchema.eventStreams))
            #expect(try await HallpassStore.canResumeEvents(after: current, on: tail.snapshotReader))
            await tail.close()

            // The snapshot reads every shard's sets through the client.
            let snapshot = try await HallpassStore.revocationSnapshot(on: fixture.redis)
            #expect(Set(snapshot.endedSessions.map(\.sessionID)).isSuperset(of: ended))
            #expect(snapshot.revokedTokenIDs.contains { $0.tokenID == "jti-cluster" })
            #expect(snapshot.positions.count == StoreSchema.eventStreams.count)
        }
    }
}
