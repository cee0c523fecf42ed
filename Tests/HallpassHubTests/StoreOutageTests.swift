import HallpassHub
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("The hub while Redis is down or busy")
struct StoreOutageTests {
    @Test("Redis paused (SIGSTOP) with at most 16 store calls pending: a burst of 200 token requests gets only 503s, and the hub serves again by itself when Redis resumes")
    func pausedRedisIsShed() async throws {
        let redis = try await RedisTestServer.start()
        do {
            var configuration = HubConfiguration.forTests(redis: redis)
            configuration.maximumPendingStoreCalls = 16
            configuration.backchannelLogout.enabled = false
            try await runHub(configuration, redis: redis) { hub in
                _ = try await hub.addUser("ann", password: "ann pw")
                _ = try await hub.addUser("bob", password: "bob pw")
                let secret = try #require(try await hub.addClient("api"))
                #expect(try await hub.login("ann", password: "ann pw", client: "api", secret: secret).status == 200)
                redis.pause()
                let started = ContinuousClock.now
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<200 {
                        group.addTask { try await hub.login("ann", password: "ann pw", client: "api", secret: secret).status }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                let burst = ContinuousClock.now - started
                redis.resume()
                #expect(statuses.count == 200 && statuses.allSatisfy { $0 == 503 }, "\(Set(statuses))")
                // Another user: the paused server runs ann's queued throttle reservations when it
                // resumes, and they may hold ann's logins back for the throttle window.
                try await waitUntil("the hub to serve again", seconds: 20) {
                    try await hub.login("bob", password: "bob pw", client: "api", secret: secret).status == 200
                }
                print("Redis paused: 200 of 200 token requests answered 503 in \(burst); served again after resuming")
            }
        } catch {
            redis.resume()
            await redis.stop()
            throw error
        }
        await redis.stop()
    }

    @Test("Redis stopped: token requests 503 with a JSON error, /readyz 503, /healthz 200; Redis back: service resumes and an earlier refresh token still refreshes")
    func redisOutageAndRecovery() async throws {
        let redis = try await RedisTestServer.start(durable: true)
        do {
            try await withHub(redis: redis) { hub in
                try await hub.addUser("yara", password: "pw-yara-1")
                try await hub.addUser("zed", password: "pw-zed-1")
                let secret = try #require(try await hub.addClient("api"))
                let before = try await hub.loginTokens("yara", password: "pw-yara-1", client: "api", secret: secret)

                await redis.kill()

                let login = try await hub.login("zed", password: "pw-zed-1", client: "api", secret: secret)
                expectError(login, status: 503, code: "temporarily_unavailable")
                #expect(login.header("Retry-After") != nil)
                expectError(try await hub.refresh(before.refresh, client: "api", secret: secret), status: 503, code: "temporarily_unavailable")
                expectError(try await hub.introspect(before.access, client: "api", secret: secret), status: 503, code: "temporarily_unavailable")
                expectError(try await hub.userinfo(bearer: before.access), status: 503, code: "temporarily_unavailable")
                #expect(try await hub.get("/readyz").status == 503)
                #expect(try await hub.get("/healthz").status == 200)

                try await redis.restart()

                // The hub reconnects by itself; while it does, answers are 503, never 500.
                var statuses: [Int] = []
                try await waitUntil("token requests to succeed again", seconds: 20, toleratingErrors: true) {
                    let reply = try await hub.login("zed", password: "pw-zed-1", client: "api", secret: secret)
                    statuses.append(reply.status)
                    return reply.status == 200
                }
                #expect(statuses.allSatisfy { $0 == 200 || $0 == 503 }, "statuses while recovering: \(statuses)")
                #expect(try await hub.get("/readyz").status == 200)

                // The session from before the outage survived it.
                let after = try await hub.refreshTokens(before.refresh, client: "api", secret: secret)
                #expect(try await hub.isActive(after.access, client: "api", secret: secret))
            }
        } catch {
            await redis.stop()
            throw error
        }
        await redis.stop()
    }

    @Test("a hub started while Redis is down starts anyway (healthz 200, readyz and tokens 503) and begins serving when Redis comes up")
    func startWithoutRedis() async throws {
        let redis = try await RedisTestServer.start()
        await redis.kill()
        do {
            try await runHub(HubConfiguration.forTests(redis: redis), redis: redis, waitForReadiness: false) { hub in
                #expect(try await hub.get("/healthz").status == 200)
                #expect(try await hub.get("/readyz").status == 503)
                let login = try await hub.login("fay", password: "pw-fay-1", client: "api", secret: "whatever")
                expectError(login, status: 503, code: "temporarily_unavailable")
                #expect(try await hub.get(HubPath.jwks).status == 503)
                #expect(try await hub.get(HubPath.discovery).status == 200)

                try await redis.restart()
                try await waitUntil("the hub to become ready", seconds: 20, toleratingErrors: true) { try await hub.get("/readyz").status == 200 }
                try await hub.addUser("fay", password: "pw-fay-1")
                let secret = try #require(try await hub.addClient("api"))
                let tokens = try await hub.loginTokens("fay", password: "pw-fay-1", client: "api", secret: secret)
                #expect(try await hub.isActive(tokens.access, client: "api", secret: secret))
            }
        } catch {
            await redis.stop()
            throw error
        }
        await redis.stop()
    }

    @Test("Redis busy running a long script: token requests are 503, not 500, and recover when it ends")
    func redisBusy() async throws {
        try await withHub { hub in
            try await hub.addUser("abby", password: "pw-abby-1")
            let secret = try #require(try await hub.addClient("api"))
            let tokens = try await hub.loginTokens("abby", password: "pw-abby-1", client: "api", secret: secret)

            let admin = try testRedisClient(url: hub.redis.url)
            _ = try await admin.send(RedisCommand("CONFIG", "SET", "busy-reply-threshold", "50"))
            let scripted = try await admin.makeDedicatedConnection()
            // A script that never ends by itself; SCRIPT KILL stops it (it wrote nothing).
            let script = Task { try? await scripted.send(RedisCommand("EVAL", "while true do end", 0), timeout: .seconds(120)) }
            do {
                try await waitUntil("Redis to answer BUSY", seconds: 20, toleratingErrors: true) {
                    do {
                        try await admin.ping()
                        return false
                    } catch RedisError.server(let message) {
                        return message.hasPrefix("BUSY")
                    }
                }
                expectError(try await hub.refresh(tokens.refresh, client: "api", secret: secret), status: 503, code: "temporarily_unavailable")
                expectError(
                    try await hub.login("abby", password: "pw-abby-1", client: "api", secret: secret), status: 503,
                    code: "temporarily_unavailable")
                #expect(try await hub.get("/readyz").status == 503)
            } catch {
                _ = try? await admin.send(RedisCommand("SCRIPT", "KILL"))
                throw error
            }
            _ = try await admin.send(RedisCommand("SCRIPT", "KILL"))
            _ = await script.value
            await scripted.close()
            await admin.shutdown()

            try await waitUntil("the hub to be ready again", seconds: 20, toleratingErrors: true) { try await hub.get("/readyz").status == 200 }
            let next = try await hub.refreshTokens(tokens.refresh, client: "api", secret: secret)
            #expect(try await hub.isActive(next.access, client: "api", secret: secret))
        }
    }
}
