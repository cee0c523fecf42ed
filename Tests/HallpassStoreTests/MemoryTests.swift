import HallpassRedis
import Testing

@testable import HallpassStore

@Suite("Memory per live session")
struct MemoryTests {
    /// `INFO memory`'s `used_memory` (bytes).
    func usedMemory(_ fixture: StoreFixture) async throws -> Int64 {
        let info = try #require(try await fixture.raw("INFO", "memory").string)
        let line = try #require(info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("used_memory:") })
        return try #require(Int64(line.dropFirst("used_memory:".count)))
    }

    /// `MEMORY USAGE key SAMPLES 0` (exact: every element counted).
    func memoryUsage(_ fixture: StoreFixture, _ key: String) async throws -> Int64 {
        try #require(try await fixture.raw("MEMORY", "USAGE", key, "SAMPLES", 0).int)
    }

    @Test func aThousandLiveSessionsCostUnderAKilobyteEach() async throws {
        try await withStore { fixture async throws in
            let store = fixture.store
            let count = 1000
            let users = try await withThrowingTaskGroup(of: [UserRecord].self) { group in
                for worker in 0..<20 {
                    group.addTask {
                        var users: [UserRecord] = []
                        for index in 0..<(count / 20) { users.append(try await store.makeUser("user\(worker)-\(index)")) }
                        return users
                    }
                }
                return try await group.reduce(into: [UserRecord]()) { $0 += $1 }
            }
            #expect(users.count == count)

            let before = try await usedMemory(fixture)
            let sessions = try await withThrowingTaskGroup(of: [(UserRecord, StartedSession)].self) { group in
                for worker in 0..<20 {
                    let mine = Array(users[(worker * count / 20)..<((worker + 1) * count / 20)])
                    group.addTask {
                        var sessions: [(UserRecord, StartedSession)] = []
                        for user in mine {
                            sessions.append((user, try await store.login(user.id, client: "notes", scope: "openid profile email").started()))
                        }
                        return sessions
                    }
                }
                return try await group.reduce(into: [(UserRecord, StartedSession)]()) { $0 += $1 }
            }
            let after = try await usedMemory(fixture)
            #expect(sessions.count == count)

            var fresh: [Int64] = []
            var indexes: [Int64] = []
            for (user, session) in sessions {
                let prefix = try fixture.prefix(of: user.id)
                fresh.append(try await memoryUsage(fixture, prefix + "s:" + session.sessionID))
                indexes.append(try await memoryUsage(fixture, prefix + "us:" + user.id))
            }
            // A session that has refreshed also holds its previous verifier, the rotation time
            // and the sealed successor: its steady state.
            var rotated: [Int64] = []
            for (user, session) in sessions {
                _ = try await store.rotate(session.refreshToken, clientID: "notes", grace: 10_000, actor: "192.0.2.1").rotated()
                rotated.append(try await memoryUsage(fixture, try fixture.prefix(of: user.id) + "s:" + session.sessionID))
            }
            let userRecord = try await memoryUsage(fixture, try fixture.prefix(of: users[0].id) + "u:" + users[0].id)

            let perSessionOverall = (after - before) / Int64(count)
            print(
                """
                memory per live session (\(count) sessions, one per user, client "notes", scope "openid profile email"):
                  session hash after login:    max \(fresh.max() ?? 0) B, mean \(fresh.reduce(0, +) / Int64(count)) B
                  session hash after a refresh: max \(rotated.max() ?? 0) B, mean \(rotated.reduce(0, +) / Int64(count)) B
                  user's session index (1 entry): max \(indexes.max() ?? 0) B
                  used_memory growth per login: \(perSessionOverall) B (session, index, login event, key overhead)
                  user record: \(userRecord) B
                """)

            #expect((rotated.max() ?? .max) < 1024)
            #expect((fresh.max() ?? .max) < 1024)
            #expect((indexes.max() ?? .max) < 256)
            #expect(perSessionOverall < 2048)
        }
    }
}

@Suite("Memory per revocation record")
struct RevocationMemoryTests {
    @Test("a revoked token id costs Redis under 300 bytes until it lapses (its sorted-set entry and its event)")
    func revokedTokenIDs() async throws {
        try await withStore { fixture async throws in
            let memory = MemoryTests()
            let count = 5000
            // Warm the structures up first, so the figure is per entry, not the sets' headers.
            for index in 0..<100 { try await fixture.store.revokeTokenID("warm-\(index)", expiresAt: nil, actor: "test") }
            let before = try await memory.usedMemory(fixture)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<10 {
                    group.addTask {
                        for index in 0..<(count / 10) {
                            // Shaped like a real jti: 22 characters of base64url.
                            let jti = String("jti\(worker)x\(index)xxxxxxxxxxxxxxxxxxxxxx".prefix(22))
                            try await fixture.store.revokeTokenID(jti, expiresAt: nil, actor: "cli:ops", userID: "u", sessionID: "s", clientID: "c")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let perRecord = Double(try await memory.usedMemory(fixture) - before) / Double(count)
            print("Redis memory per revoked token id (zset entry + event): \(Int(perRecord)) bytes")
            #expect(perRecord > 0 && perRecord < 300)
        }
    }
}
