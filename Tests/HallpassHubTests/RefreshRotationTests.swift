import HallpassStore
import HallpassTestSupport
import Testing

@Suite("Refresh rotation: reuse detection, the grace window, concurrent refreshes")
struct RefreshRotationTests {
    @Test("reusing a rotated refresh token after the grace window ends the session: the newest token fails, every token of it is inactive, refresh_reuse_detected is logged", arguments: RedisTopologyUnderTest.underTest)
    func reuseAfterGraceEndsTheSession(topology: RedisTopologyUnderTest) async throws {
        try await withHub(topology: topology, configure: { $0.refreshGrace = 1 }) { hub in
            let user = try await hub.addUser("carol", password: "pw-carol-1")
            let secret = try #require(try await hub.addClient("api"))
            let first = try await hub.loginTokens("carol", password: "pw-carol-1", client: "api", secret: secret)
            let second = try await hub.refreshTokens(first.refresh, client: "api", secret: secret)
            #expect(try await hub.isActive(second.refresh, client: "api", secret: secret))

            // Not a timing assertion: the configured 1 s grace window must be over before the replay.
            try await Task.sleep(for: .milliseconds(1300))

            let replay = try await hub.refresh(first.refresh, client: "api", secret: secret)
            expectError(replay, status: 400, code: "invalid_grant")

            // The thief's copy and the legitimate newest token are both dead now.
            let newest = try await hub.refresh(second.refresh, client: "api", secret: secret)
            expectError(newest, status: 400, code: "invalid_grant")
            #expect(try await hub.isActive(second.refresh, client: "api", secret: secret) == false)
            #expect(try await hub.isActive(second.access, client: "api", secret: secret) == false)
            #expect(try await hub.isActive(first.access, client: "api", secret: secret) == false)
            #expect(try await hub.userinfo(bearer: second.access).status == 401)
            #expect(try await hub.store.sessions(ofUser: user.id).isEmpty)

            let events = try await hub.store.recentEvents(count: 100)
            let reuse = events.filter { $0.type == "refresh_reuse_detected" }
            #expect(reuse.count == 1)
            #expect(reuse.first?.session == first.sessionID)
            #expect(reuse.first?.user == user.id)
            #expect(reuse.first?.client == "api")
            #expect(events.contains { $0.type == "session_ended" && $0.session == first.sessionID && $0.detail == "refresh_reuse" })
        }
    }

    @Test("a retry of a just-rotated refresh token within the grace window gets the same successor, and the session stays live")
    func graceRetryReturnsTheSameSuccessor() async throws {
        try await withHub { hub in
            let user = try await hub.addUser("dave", password: "pw-dave-1")
            let secret = try #require(try await hub.addClient("api"))
            let first = try await hub.loginTokens("dave", password: "pw-dave-1", client: "api", secret: secret)
            let rotated = try await hub.refreshTokens(first.refresh, client: "api", secret: secret)
            let retried = try await hub.refreshTokens(first.refresh, client: "api", secret: secret)

            #expect(retried.refresh == rotated.refresh)
            #expect(rotated.refresh != first.refresh)
            // Both answers carry working access tokens of the same session.
            #expect(try await hub.isActive(rotated.access, client: "api", secret: secret))
            #expect(try await hub.isActive(retried.access, client: "api", secret: secret))
            #expect(try await hub.userinfo(bearer: retried.access).string("sub") == user.id)

            let next = try await hub.refreshTokens(retried.refresh, client: "api", secret: secret)
            #expect(next.refresh != rotated.refresh)
            #expect(try await hub.isActive(next.refresh, client: "api", secret: secret))
            #expect(try await hub.store.sessions(ofUser: user.id).map(\.id) == [first.sessionID])
            #expect(try await hub.store.recentEvents(count: 100).contains { $0.type == "refresh_reuse_detected" } == false)
        }
    }

    @Test("50 concurrent refreshes of one token all succeed with exactly one successor, and the session stays live", arguments: RedisTopologyUnderTest.underTest)
    func concurrentRefreshesShareOneSuccessor(topology: RedisTopologyUnderTest) async throws {
        try await withHub(topology: topology) { hub in
            let user = try await hub.addUser("erin", password: "pw-erin-1")
            let secret = try #require(try await hub.addClient("api"))
            let first = try await hub.loginTokens("erin", password: "pw-erin-1", client: "api", secret: secret)

            let replies = try await withThrowingTaskGroup(of: HTTPReply.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await hub.refresh(first.refresh, client: "api", secret: secret) }
                }
                return try await group.reduce(into: [HTTPReply]()) { $0.append($1) }
            }

            #expect(replies.count == 50)
            #expect(replies.allSatisfy { $0.status == 200 }, "statuses: \(replies.map(\.status))")
            let successors = Set(replies.compactMap { $0.string("refresh_token") })
            #expect(successors.count == 1)
            let successor = try #require(successors.first)
            #expect(successor != first.refresh)

            // One rotation happened, the rest were grace replays; no reuse was detected.
            let events = try await hub.store.recentEvents(count: 200).filter { $0.session == first.sessionID }
            #expect(events.filter { $0.type == "refresh" }.count == 1)
            #expect(events.contains { $0.type == "refresh_reuse_detected" || $0.type == "session_ended" } == false)

            let next = try await hub.refreshTokens(successor, client: "api", secret: secret)
            #expect(try await hub.isActive(next.access, client: "api", secret: secret))
            #expect(try await hub.store.sessions(ofUser: user.id).count == 1)
        }
    }
}
