import HallpassRedis
import Testing

@testable import HallpassStore

@Suite("Client watermarks: removing a client voids its tokens")
struct ClientWatermarkTests {
    /// How long a revocation record outlives its revocation (ms).
    static let retention = (HallpassStore.maximumAccessTokenLifetime + HallpassStore.clockSkewAllowance) * 1000

    /// The facts of a client's own token (client credentials grant).
    static func clientToken(_ client: String, jti: String = "jti-c", issuedAt: Int64) -> AccessTokenFacts {
        AccessTokenFacts(tokenID: jti, sessionID: nil, userID: client, clientID: client, issuedAt: issuedAt)
    }

    @Test func removalWritesTheWatermarkAndItsEventInOneScriptAndTheSnapshotReadsIt() async throws {
        try await withStore { fixture async throws in
            _ = try await fixture.store.createClient(id: "svc", confidential: true, grantTypes: ["client_credentials"], actor: "test")
            _ = try await fixture.store.createClient(id: "kept", confidential: true, grantTypes: ["client_credentials"], actor: "test")
            let removedAt = fixture.clock.milliseconds
            // Covers the hubs' client cache: a hub may mint from its cached record for that long.
            let expected = (removedAt + HallpassStore.maximumClientCacheLifetime) / 1000 + 1

            let (watermark, events) = try await fixture.eventsAppended {
                try await fixture.store.removeClient(id: "svc", actor: "cli:root")
            }

            #expect(watermark == expected)
            #expect(watermark * 1000 >= removedAt + HallpassStore.maximumClientCacheLifetime)
            #expect(try await fixture.score(StoreSchema.clientWatermarks, "svc") == expected)
            #expect(StoreSchema.clientWatermarks == "hp:{hg}:cnbf")
            #expect(try await fixture.raw("EXISTS", "hp:{hg}:c:svc") == .integer(0))
            #expect(try await fixture.raw("SISMEMBER", "hp:{hg}:clients", "svc") == .integer(0))
            #expect(try await fixture.store.clients().map(\.id) == ["kept"])
            #expect(events.map(\.type) == ["client_removed", StoreEventType.clientTokensRevoked])
            #expect(events.allSatisfy { $0.stream == "hp:{hg}:ev" && $0.actor == "cli:root" })
            let revoked = try #require(events.last)
            #expect(revoked.client == "svc")
            #expect(revoked.detail == "\(expected)")

            let connection = try await fixture.redis.makeDedicatedConnection()
            let snapshot = try await HallpassStore.revocationSnapshot(on: connection)
            await connection.close()
            #expect(snapshot.clientWatermarks.map(\.clientID) == ["svc"])
            #expect(snapshot.clientWatermarks.map(\.watermark) == [expected])
            #expect(snapshot.revokedTokenIDs.isEmpty)
            #expect(snapshot.userWatermarks.isEmpty)
        }
    }

    @Test func aRemovedClientsTokensAreRevokedTheClientsOwnAndItsUsersAlike() async throws {
        try await withStore { fixture async throws in
            _ = try await fixture.store.createClient(id: "svc", confidential: true, grantTypes: ["client_credentials"], actor: "test")
            let user = try await fixture.store.makeUser("alice")
            let session = try await fixture.store.login(user.id, client: "svc").started()
            let other = try await fixture.store.login(user.id, client: "other").started()
            let issuedAt = fixture.clock.seconds
            let userToken = AccessTokenFacts(
                tokenID: "jti-u", sessionID: session.sessionID, userID: user.id, clientID: "svc", issuedAt: issuedAt)
            let otherClientsToken = AccessTokenFacts(
                tokenID: "jti-o", sessionID: other.sessionID, userID: user.id, clientID: "other", issuedAt: issuedAt)
            #expect(try await fixture.store.isRevoked(Self.clientToken("svc", issuedAt: issuedAt)) == false)
            #expect(try await fixture.store.isRevoked(userToken) == false)

            let watermark = try await fixture.store.removeClient(id: "svc", actor: "test")

            #expect(try await fixture.store.isRevoked(Self.clientToken("svc", issuedAt: issuedAt)))
            #expect(try await fixture.store.isRevoked(Self.clientToken("svc", issuedAt: watermark)))
            #expect(try await fixture.store.isRevoked(userToken))
            #expect(try await fixture.store.isRevoked(otherClientsToken) == false)
            #expect(try await fixture.store.isRevoked(Self.clientToken("svc", issuedAt: watermark + 1)) == false)
            // A client's own token whose subject is not its client is no token the hub issues.
            let forged = AccessTokenFacts(tokenID: "jti-f", sessionID: nil, userID: user.id, clientID: "other", issuedAt: issuedAt)
            #expect(try await fixture.store.isRevoked(forged))
            // A client's own token is revoked by its jti like any other.
            #expect(try await fixture.store.revokeTokenID("jti-k", expiresAt: nil, actor: "t", clientID: "kept"))
            #expect(try await fixture.store.isRevoked(Self.clientToken("kept", jti: "jti-k", issuedAt: issuedAt)))
            #expect(try await fixture.store.isRevoked(Self.clientToken("kept", jti: "jti-l", issuedAt: issuedAt)) == false)
        }
    }

    @Test func aClientRegisteredAgainUnderTheSameIDCarriesTheWatermarkSoItsTokensAreNotVoidOnArrival() async throws {
        try await withStore { fixture async throws in
            let (first, _) = try await fixture.store.createClient(id: "svc", confidential: true, grantTypes: ["client_credentials"], actor: "t")
            #expect(first.notBefore == 0)
            let watermark = try await fixture.store.removeClient(id: "svc", actor: "t")
            let (again, _) = try await fixture.store.createClient(id: "svc", confidential: true, grantTypes: ["client_credentials"], actor: "t")
            #expect(again.notBefore == watermark)
            #expect(try await fixture.store.client(id: "svc")?.notBefore == watermark)
            #expect(try await fixture.store.clients().first?.notBefore == watermark)
            #expect(try await fixture.raw("SISMEMBER", "hp:{hg}:clients", "svc") == .integer(1))
            // A client never removed has none.
            let (fresh, _) = try await fixture.store.createClient(id: "new", confidential: true, grantTypes: ["password"], actor: "t")
            #expect(fresh.notBefore == 0)
            #expect(try await fixture.store.client(id: "new")?.notBefore == 0)
        }
    }

    @Test func removingAClientAgainNeverLowersItsWatermarkAndAnUnknownClientLeavesNone() async throws {
        try await withStore { fixture async throws in
            _ = try await fixture.store.createClient(id: "svc", confidential: true, grantTypes: ["client_credentials"], actor: "t")
            fixture.clock.advance(seconds: 30)
            let later = try await fixture.store.removeClient(id: "svc", actor: "t")
            // A clock that went back (another host's) must not shorten the voided period.
            fixture.clock.advance(seconds: -20)
            _ = try await fixture.store.createClient(id: "svc", confidential: true, grantTypes: ["client_credentials"], actor: "t")
            #expect(try await fixture.store.removeClient(id: "svc", actor: "t") == later)
            #expect(try await fixture.score(StoreSchema.clientWatermarks, "svc") == later)

            let (_, events) = try await fixture.eventsAppended {
                await storeError { try await fixture.store.removeClient(id: "ghost", actor: "t") }
            }
            #expect(events.isEmpty)
            #expect(try await fixture.score(StoreSchema.clientWatermarks, "ghost") == nil)
            #expect(await storeError { try await fixture.store.removeClient(id: "ghost", actor: "t") }?.kind == "notFound")
        }
    }

    @Test func watermarksAreTrimmedOnceEveryTokenTheyVoidHasExpired() async throws {
        try await withStore { fixture async throws in
            _ = try await fixture.store.createClient(id: "old", confidential: true, grantTypes: ["client_credentials"], actor: "t")
            _ = try await fixture.store.createClient(id: "new", confidential: true, grantTypes: ["client_credentials"], actor: "t")
            let oldWatermark = try await fixture.store.removeClient(id: "old", actor: "t")

            // Still needed while a token it voids may be live (issued up to the watermark, for
            // the longest lifetime plus skew): kept by a removal just then.
            fixture.clock.advance(milliseconds: oldWatermark * 1000 + Self.retention - fixture.clock.milliseconds)
            _ = try await fixture.store.createClient(id: "mid", confidential: true, grantTypes: ["client_credentials"], actor: "t")
            try await fixture.store.removeClient(id: "mid", actor: "t")
            #expect(try await fixture.score(StoreSchema.clientWatermarks, "old") == oldWatermark)

            fixture.clock.advance(seconds: 1)
            try await fixture.store.removeClient(id: "new", actor: "t")
            #expect(try await fixture.score(StoreSchema.clientWatermarks, "old") == nil)
            #expect(try await fixture.score(StoreSchema.clientWatermarks, "new") != nil)
        }
    }
}
