import Foundation
import HallpassHub
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("Several hubs over one Redis")
struct MultiHubTests {
    @Test(
        "hallpass-hub refuses a bad --event-loop-executor or HALLPASS_EVENT_LOOP_EXECUTOR as a usage error, before starting",
        arguments: [
            (["--event-loop-executor", "maybe"], [String: String]()),
            ([], ["HALLPASS_EVENT_LOOP_EXECUTOR": "x"]),
        ])
    func badExecutorSwitchIsAUsageError(arguments: [String], environment: [String: String]) async throws {
        var inherited = ProcessInfo.processInfo.environment
        inherited.merge(environment) { $1 }
        // Port 1 and an unreachable Redis: a hub that got past the check would fail otherwise.
        let result = try await runProcess(
            try HubProcess.executable(), ["--redis", "redis://127.0.0.1:1/0", "--port", "1"] + arguments, environment: inherited)
        // ArgumentParser's usage-error status (EX_USAGE).
        #expect(result.status == 64, "exit \(result.status): \(result.standardError)")
        #expect(result.standardError.contains("maybe") || result.standardError.contains("HALLPASS_EVENT_LOOP_EXECUTOR=x"), "\(result.standardError)")
        #expect(result.standardError.contains("Usage: hallpass-hub"))
    }

    @Test("a token minted by hub A refreshes at hub B, and a logout at B is seen at A at once")
    func tokensAndLogoutCrossHubs() async throws {
        let redis = try await RedisTestServer.start()
        do {
            let configuration = HubConfiguration.forTests(redis: redis)
            try await runHub(configuration, redis: redis) { a in
                try await runHub(configuration, redis: redis) { b in
                    #expect(a.port != b.port)
                    let user = try await a.addUser("kate", password: "pw-kate-1")
                    let secret = try #require(try await a.addClient("api"))

                    let atA = try await a.loginTokens("kate", password: "pw-kate-1", client: "api", secret: secret)
                    let atB = try await b.refreshTokens(atA.refresh, client: "api", secret: secret)
                    // Each hub accepts what the other signed.
                    #expect(try await a.isActive(atB.access, client: "api", secret: secret))
                    #expect(try await b.isActive(atA.access, client: "api", secret: secret))
                    #expect(try await a.userinfo(bearer: atB.access).string("sub") == user.id)

                    #expect(try await b.logout(bearer: atB.access).status == 204)

                    #expect(try await a.isActive(atB.access, client: "api", secret: secret) == false)
                    #expect(try await a.isActive(atA.access, client: "api", secret: secret) == false)
                    #expect(try await a.isActive(atB.refresh, client: "api", secret: secret) == false)
                    expectError(try await a.refresh(atB.refresh, client: "api", secret: secret), status: 400, code: "invalid_grant")
                    #expect(try await a.userinfo(bearer: atA.access).status == 401)
                }
            }
        } catch {
            await redis.stop()
            throw error
        }
        await redis.stop()
    }

    @Test(
        "logins of one user racing at two hallpass-hub processes leave exactly one live session",
        arguments: [SingleLoginPolicy.newestWins, .denyNew])
    func racingLoginsAtTwoProcesses(policy: SingleLoginPolicy) async throws {
        let redis = try await RedisTestServer.start()
        let client = try testRedisClient(url: redis.url)
        let store = HallpassStore(redis: client)
        var processes: [HubProcess] = []
        do {
            // The processes take the policy from their flag; the throttle is raised because
            // a login counts as an attempt until its password is verified, and this test
            // fires many at once on purpose.
            let arguments = [
                "--single-login", policy.rawValue, "--login-attempts-per-user", "1000", "--password-threads", "1",
                "--log-level", "warning",
            ]
            // Two instances of one deployment: one issuer, as behind a load balancer. Started
            // together, so they also race to create the first signing key.
            let issuer = "http://sso.hallpass.test"
            // One runs its tasks on Swift Concurrency's default pool, the other (the default) on
            // NIO's event loops with a Redis connection per loop: the race must hold for both.
            async let first = HubProcess.start(
                redisURL: redis.url, issuer: issuer, arguments: arguments + ["--event-loop-executor", "off"])
            async let second = HubProcess.start(redisURL: redis.url, issuer: issuer, arguments: arguments)
            processes = [try await first, try await second]
            let hubs = processes.map { process in
                var configuration = HubConfiguration.forTests(redis: redis)
                configuration.port = process.port
                configuration.issuer = issuer
                return HubFixture(baseURL: process.baseURL, port: process.port, redis: redis, store: store, configuration: configuration)
            }
            let user = try await hubs[0].addUser("liam", password: "pw-liam-1")
            let secret = try #require(try await hubs[0].addClient("api"))

            let loginsPerHub = 8
            for round in 0..<5 {
                let replies = try await withThrowingTaskGroup(of: HTTPReply.self) { group in
                    for hub in hubs {
                        for _ in 0..<loginsPerHub {
                            group.addTask { try await hub.login("liam", password: "pw-liam-1", client: "api", secret: secret) }
                        }
                    }
                    return try await group.reduce(into: [HTTPReply]()) { $0.append($1) }
                }
                let winners = replies.filter { $0.status == 200 }
                let live = try await store.sessions(ofUser: user.id)
                #expect(live.count == 1, "round \(round): \(live.count) live sessions")
                switch policy {
                case .denyNew:
                    #expect(winners.count == 1, "round \(round): statuses \(replies.map(\.status))")
                    for loser in replies where loser.status != 200 {
                        expectError(loser, status: 400, code: "session_exists")
                    }
                default:
                    #expect(winners.count == replies.count, "round \(round): statuses \(replies.map(\.status))")
                }

                // The survivor is one of this round's logins; it works at both hubs, and every
                // other login of the round is over.
                let tokens = try winners.map { try HubFixture.tokens($0, "login", sourceLocation: #_sourceLocation) }
                let survivor = try #require(tokens.first { $0.sessionID == live.first?.id }, "round \(round)")
                #expect(try await hubs[round % 2].isActive(survivor.access, client: "api", secret: secret))
                let refreshed = try await hubs[(round + 1) % 2].refreshTokens(survivor.refresh, client: "api", secret: secret)
                for other in tokens where other.sessionID != survivor.sessionID {
                    expectError(
                        try await hubs[0].refresh(other.refresh, client: "api", secret: secret), status: 400, code: "invalid_grant")
                }
                if policy == .denyNew {
                    // End the session so the next round races for a free slot again.
                    #expect(try await hubs[round % 2].logout(bearer: refreshed.access).status == 204)
                    #expect(try await store.sessions(ofUser: user.id).isEmpty)
                }
            }
        } catch {
            await stop(processes, client, redis)
            throw error
        }
        await stop(processes, client, redis)
    }

    private func stop(_ processes: [HubProcess], _ client: RedisClient, _ redis: RedisTestServer) async {
        for process in processes { await process.stop() }
        await client.shutdown()
        await redis.stop()
    }
}
