import HallpassJOSE
import HallpassRedis
import Testing

@testable import HallpassStore

@Suite("Events")
struct EventTests {
    @Test func eachChangeAppendsItsEventsToTheRightStreamWithWhoAndWhat() async throws {
        try await withStore { fixture async throws in
            let store = fixture.store
            let global = "hp:{hg}:ev"

            /// Runs `body` and checks that it appended exactly the `expected` (type, stream) events.
            func expectEvents<T>(
                _ expected: [(type: String, stream: String)], sourceLocation: SourceLocation = #_sourceLocation,
                _ body: () async throws -> T
            ) async throws -> (T, [StoreEvent]) {
                let (result, events) = try await fixture.eventsAppended(by: body)
                #expect(events.map(\.type) == expected.map(\.type), sourceLocation: sourceLocation)
                #expect(events.map(\.stream) == expected.map(\.stream), sourceLocation: sourceLocation)
                return (result, events)
            }

            // Users.
            let (user, created) = try await fixture.eventsAppended {
                try await store.createUser(username: "Alice", passwordHash: somePasswordHash, actor: "cli:root")
            }
            let shard = try fixture.prefix(of: user.id) + "ev"
            #expect(created.map(\.type) == ["user_created"])
            #expect(created.first?.stream == shard)
            #expect(created.first?.user == user.id)
            #expect(created.first?.actor == "cli:root")
            #expect(created.first?.detail == "Alice")

            let (_, passwd) = try await expectEvents([("password_changed", shard)]) {
                try await store.setPasswordHash(userID: user.id, passwordHash: somePasswordHash, actor: "cli:root")
            }
            #expect(passwd.first?.user == user.id)
            #expect(passwd.first?.actor == "cli:root")

            let (_, policy) = try await expectEvents([("policy_changed", shard)]) {
                try await store.setSingleLoginPolicy(.denyNew, forUser: user.id, actor: "cli:root")
            }
            #expect(policy.first?.user == user.id)
            #expect(policy.first?.detail == "single-login=deny-new")

            // Logins, refused logins, refreshes.
            let (outcome, login) = try await expectEvents([("login", shard)]) {
                try await store.startSession(
                    userID: user.id, clientID: "notes", scope: "openid", timeouts: SessionTimeouts(), defaultPolicy: .off,
                    actor: "192.0.2.1", remoteAddress: "192.0.2.1")
            }
            let started = try outcome.started()
            #expect(login.first?.user == user.id)
            #expect(login.first?.session == started.sessionID)
            #expect(login.first?.client == "notes")
            #expect(login.first?.actor == "192.0.2.1")

            let (_, refused) = try await expectEvents([("login_refused", shard)]) {
                try await store.login(user.id, client: "wiki")
            }
            #expect(refused.first?.user == user.id)
            #expect(refused.first?.client == "wiki")
            #expect(refused.first?.detail == "session_exists")

            let (rotation, refresh) = try await expectEvents([("refresh", shard)]) {
                try await store.rotate(started.refreshToken, clientID: "notes", grace: 10_000, actor: "192.0.2.1")
            }
            _ = try rotation.rotated()
            #expect(refresh.first?.user == user.id)
            #expect(refresh.first?.session == started.sessionID)
            #expect(refresh.first?.client == "notes")
            #expect(refresh.first?.actor == "192.0.2.1")
            // Handing the same successor to a retry changes nothing, so it logs nothing.
            _ = try await expectEvents([]) {
                try await store.rotate(started.refreshToken, clientID: "notes", grace: 10_000, actor: "192.0.2.1")
            }

            // A newest-wins login ends the other session first, then logs itself.
            try await store.setSingleLoginPolicy(.newestWins, forUser: user.id, actor: "cli:root")
            let (newest, newestEvents) = try await expectEvents([("session_ended", shard), ("login", shard)]) {
                try await store.login(user.id)
            }
            let second = try newest.started()
            #expect(newestEvents.first?.session == started.sessionID)
            #expect(newestEvents.first?.detail == "single_login")
            #expect(newestEvents.last?.session == second.sessionID)

            _ = try await expectEvents([("grant_revoked", shard), ("session_ended", shard)]) {
                try await store.revokeGrant(second.refreshToken, clientID: "notes", actor: "notes")
            }
            let third = try await store.login(user.id).started()
            _ = try await expectEvents([("session_ended", shard)]) {
                try await store.endSession(third.sessionID, reason: "logout", actor: "192.0.2.1")
            }
            _ = try await store.login(user.id).started()
            _ = try await expectEvents([("user_disabled", shard), ("session_ended", shard), ("user_tokens_revoked", shard)]) {
                try await store.disableUser(user.id, actor: "cli:root")
            }
            _ = try await expectEvents([("user_enabled", shard)]) {
                try await store.enableUser(user.id, actor: "cli:root")
            }

            // Global changes go to the global stream.
            let (_, token) = try await expectEvents([("token_revoked", global)]) {
                try await store.revokeTokenID("jti-9", expiresAt: nil, actor: "cli:root", userID: user.id)
            }
            #expect(token.first?.user == user.id)
            #expect(token.first?.detail == "jti-9")
            let (_, client) = try await expectEvents([("client_added", global)]) {
                try await store.createClient(id: "notes", confidential: true, grantTypes: ["refresh_token"], actor: "cli:root")
            }
            #expect(client.first?.detail == "notes")
            #expect(client.first?.actor == "cli:root")
            let (watermark, removed) = try await expectEvents([("client_removed", global), ("client_tokens_revoked", global)]) {
                try await store.removeClient(id: "notes", actor: "cli:root")
            }
            #expect(removed.first?.detail == "notes")
            #expect(removed.last?.client == "notes")
            #expect(removed.last?.detail == String(watermark))
            #expect(removed.allSatisfy { $0.actor == "cli:root" })
            let (_, globalPolicy) = try await expectEvents([("policy_changed", global)]) {
                try await store.setGlobalSingleLoginPolicy(.denyNew, actor: "cli:root")
            }
            #expect(globalPolicy.first?.detail == "single-login=deny-new")
            let key = try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: 1, activatesAt: 1)
            let (_, keyAdded) = try await expectEvents([("key_added", global)]) {
                try await store.addFirstSigningKey(key, actor: "hub")
            }
            #expect(keyAdded.first?.detail == key.keyID)
            _ = try await expectEvents([("key_rotated", global)]) {
                try await store.saveSigningKeys([key], event: "key_rotated", actor: "cli:root")
            }

            // Events that change nothing else: in the user's shard when the user is known.
            let (_, failed) = try await expectEvents([("login_failed", global)]) {
                try await store.appendEvent("login_failed", actor: "203.0.113.5", detail: "unknown_user")
            }
            #expect(failed.first?.actor == "203.0.113.5")
            #expect(failed.first?.detail == "unknown_user")
            _ = try await expectEvents([("login_failed", shard)]) {
                try await store.appendEvent("login_failed", user: user.id, actor: "203.0.113.5", detail: "bad_password")
            }
            _ = try await expectEvents([("login_failed", global)]) {
                try await store.appendEvent("login_failed", user: "-not-an-id", actor: "203.0.113.5")
            }

            // Refused changes log nothing.
            _ = try await expectEvents([]) { await storeError { try await store.makeUser("alice") } }
            _ = try await expectEvents([]) {
                await storeError { try await store.createClient(id: "-x", confidential: false, grantTypes: [], actor: "t") }
            }
            _ = try await expectEvents([]) { try await store.addFirstSigningKey(key, actor: "hub") }
        }
    }

    @Test func streamsStayNearTheirCapHoweverManyEventsAreWritten() async throws {
        let cap = 100
        try await withStore(eventsPerStream: cap) { fixture async throws in
            let store = fixture.store
            let user = try await store.makeUser("alice")
            // 1,000 events into the global stream and 1,000 into the user's shard.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<10 {
                    group.addTask {
                        for index in 0..<100 {
                            try await store.appendEvent("login_failed", actor: "203.0.113.\(worker)", detail: "\(index)")
                            try await store.setPasswordHash(userID: user.id, passwordHash: somePasswordHash, actor: "t")
                        }
                    }
                }
                try await group.waitForAll()
            }
            for stream in ["hp:{hg}:ev", try fixture.prefix(of: user.id) + "ev"] {
                let length = try #require(try await fixture.raw("XLEN", stream).int)
                // MAXLEN ~ trims whole stream nodes, so the length stays within one node of the cap.
                #expect(length >= cap, "\(stream)")
                #expect(length <= 2 * cap, "\(stream)")
            }
            let recent = try await store.recentEvents(count: 10)
            #expect(recent.count == 10)
        }
    }

    @Test func recentEventsAreTheNewestOldestFirst() async throws {
        try await withStore { fixture async throws in
            let store = fixture.store
            let user = try await store.makeUser("alice")
            for index in 0..<20 {
                // Alternate between the global stream and the user's shard.
                try await store.appendEvent("e\(index)", user: index.isMultiple(of: 2) ? "" : user.id, actor: "t")
            }
            let all = try await store.recentEvents(count: 1000)
            #expect(all.count == 21)
            #expect(Set(all.map(\.type)) == Set(["user_created"] + (0..<20).map { "e\($0)" }))
            // Ordered by stream id time; within one stream, in the order written.
            #expect(zip(all, all.dropFirst()).allSatisfy { !HallpassStore.streamOrder($1.id, $0.id) })
            for stream in Set(all.map(\.stream)) {
                let inStream = all.filter { $0.stream == stream }.map(\.type).filter { $0.hasPrefix("e") }
                #expect(inStream == inStream.sorted { Int($0.dropFirst())! < Int($1.dropFirst())! })
            }

            let last = try await store.recentEvents(count: 5)
            #expect(last.count == 5)
            // The five returned are the newest: nothing left out is newer than them.
            let oldestReturned = try #require(last.first)
            let returned = Set(last.map { $0.stream + $0.id })
            for event in all where !returned.contains(event.stream + event.id) {
                #expect(!HallpassStore.streamOrder(oldestReturned.id, event.id))
            }

            // In one stream the order is exact.
            for index in 0..<5 { try await store.appendEvent("g\(index)", actor: "t") }
            let globalOnly = try await store.recentEvents(count: 1000).filter { $0.stream == "hp:{hg}:ev" }.map(\.type)
            #expect(globalOnly.suffix(5) == ["g0", "g1", "g2", "g3", "g4"])
        }
    }

    @Test func readEventsReturnsWhatWasAppendedAfterTheGivenPositions() async throws {
        try await withStore { fixture async throws in
            let store = fixture.store
            let user = try await store.makeUser("alice")
            let shard = try fixture.prefix(of: user.id) + "ev"
            try await store.appendEvent("a1", actor: "t")
            try await store.appendEvent("a2", user: user.id, actor: "t")

            let connection = try await fixture.redis.makeDedicatedConnection()
            let everything = try await HallpassStore.readEvents(on: connection, after: [:], count: 100, block: nil)
            #expect(everything.map(\.type).sorted() == ["a1", "a2", "user_created"])

            var positions: [String: String] = [:]
            for event in everything { positions[event.stream] = event.id }
            #expect(try await HallpassStore.readEvents(on: connection, after: positions, count: 100, block: nil).isEmpty)

            try await store.appendEvent("b1", user: user.id, actor: "t")
            try await store.appendEvent("b2", actor: "t")
            try await store.appendEvent("b3", user: user.id, actor: "t")
            let next = try await HallpassStore.readEvents(on: connection, after: positions, count: 100, block: nil)
            #expect(next.map(\.type).sorted() == ["b1", "b2", "b3"])
            #expect(next.filter { $0.stream == shard }.map(\.type) == ["b1", "b3"])

            // `count` bounds each stream's share.
            let limited = try await HallpassStore.readEvents(on: connection, after: positions, count: 1, block: nil)
            #expect(limited.map(\.type).sorted() == ["b1", "b2"])

            // A blocking read returns as soon as an event arrives.
            for event in next { positions[event.stream] = event.id }
            let after = positions
            let waiting = Task { try await HallpassStore.readEvents(on: connection, after: after, count: 100, block: 30_000) }
            try await store.appendEvent("c1", user: user.id, actor: "t")
            #expect(try await waiting.value.map(\.type) == ["c1"])
            await connection.close()
        }
    }
}
